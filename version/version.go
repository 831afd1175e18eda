// Package version holds the one version string every front reports: the CLI's
// `version`, the Packer plugin's describe output (and so `packer plugins
// installed`), and the User-Agent of every request.
//
// Where it comes from, first match wins:
//  1. a release build stamps it: -ldflags "-X .../version.Version=1.2.3
//     -X .../version.Prerelease=" (GoReleaser does; an empty Prerelease marks
//     a stamped build);
//  2. a build of a released module version (go install ...@v1.2.3, or a
//     build in another module that requires ours at v1.2.3) reports that
//     version, read from the build info;
//  3. a plain local build reports Version-Prerelease ("0.1.0-dev").
package version

import (
	"regexp"
	"runtime/debug"
	"strings"
)

// ModulePath is this repository's module.
const ModulePath = "github.com/imagefamily/packer-plugin-alicloud-image-family"

// Version is the semantic version without a leading "v", the next release's
// in source (version.go is bumped by the release commit).
var Version = "0.1.0"

// Prerelease is appended after a hyphen when non-empty ("dev" for source
// builds); release builds stamp it empty.
var Prerelease = "dev"

// readBuildInfo is debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

// String returns the full version, such as "1.2.3", "1.3.0-rc.1" or
// "0.1.0-dev".
func String() string {
	v, pre := Parts()
	if pre == "" {
		return v
	}
	return v + "-" + pre
}

// Parts returns the version and its prerelease separately, as Packer's
// plugin version wants them.
func Parts() (version, prerelease string) {
	if Prerelease == "" {
		return Version, ""
	}
	if mv := moduleVersion(); mv != "" {
		core, pre, _ := strings.Cut(strings.TrimPrefix(mv, "v"), "-")
		return core, pre
	}
	return Version, Prerelease
}

// releaseVersion is a module version that names a release: vX.Y.Z with an
// optional prerelease, and no build metadata. Pseudo-versions
// (v0.0.0-20261202024722-30791afb3c1e, what Go stamps on a local build of a
// commit without a tag) and "+dirty" builds are not releases.
var (
	releaseVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	pseudoVersion  = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)
)

// moduleVersion is the released version of this module the binary was built
// from, or "".
func moduleVersion() string {
	bi, ok := readBuildInfo()
	if !ok || bi == nil {
		return ""
	}
	v := ""
	if bi.Main.Path == ModulePath {
		v = bi.Main.Version
	} else {
		for _, d := range bi.Deps {
			if d.Path == ModulePath && d.Replace == nil {
				v = d.Version
			}
		}
	}
	if !releaseVersion.MatchString(v) || pseudoVersion.MatchString(v) {
		return ""
	}
	return v
}
