//go:build release

package releasetest

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The steps below are those of Packer v1.15.1's GitHub getter
// (packer/plugin-getter/github/getter.go and plugins.go), written out so a
// rename anywhere in the release shows up here before a user's `packer init`
// fails:
//
//  1. From the source github.com/<ns>/<name> it reads the repository
//     <ns>/packer-plugin-<name> and the file prefix packer-plugin-<name>_.
//  2. It downloads <prefix>v<version>_SHA256SUMS from the release v<version>
//     and splits each line into a checksum and a file name (fields).
//  3. For each name it strips the prefix and the extension and splits the
//     rest on "_" into v<version>, x<api major>.<api minor>, os, arch; it
//     keeps the entry whose version, os and arch are its own and whose API
//     major equals its own.
//  4. It downloads that zip, checks it against the checksum, and extracts the
//     file named like the zip without .zip, plus .exe on Windows.
//  5. It runs `describe` on it and requires the reported version to equal
//     the release's.
type packerEntry struct {
	file, version, api, os, arch, ext string
}

// packerPrefix is step 1's file prefix for pluginSource.
func packerPrefix(t *testing.T) string {
	t.Helper()
	parts := strings.Split(pluginSource, "/")
	if len(parts) != 3 || parts[0] != "github.com" {
		t.Fatalf("source %q is not github.com/<namespace>/<name>", pluginSource)
	}
	name := strings.TrimPrefix(parts[2], "packer-plugin-")
	if "packer-plugin-"+name != projectName {
		t.Fatalf("source %s makes Packer look in repository %s/packer-plugin-%s, but the project is %s", pluginSource, parts[1], name, projectName)
	}
	return "packer-plugin-" + name + "_"
}

// parsePackerEntry is step 3 (getter.Init).
func parsePackerEntry(prefix, file string) (packerEntry, error) {
	e := packerEntry{file: file}
	rest := strings.TrimPrefix(file, prefix)
	e.ext = filepath.Ext(rest)
	parts := strings.Split(strings.TrimSuffix(rest, e.ext), "_")
	if rest == file || len(parts) != 4 {
		return e, fmt.Errorf("%s is not %sv{version}_x{api}_{os}_{arch}.zip", file, prefix)
	}
	e.version, e.api, e.os, e.arch = parts[0], parts[1], parts[2], parts[3]
	return e, nil
}

var apiVersionRE = regexp.MustCompile(`^x(\d+)\.(\d+)$`)

func TestPluginDescribe(t *testing.T) {
	s := loadSnapshot(t)
	d := s.describe
	if d.Version != s.version {
		t.Errorf("describe reports version %q, the release is %q: Packer skips a binary whose version differs", d.Version, s.version)
	}
	if !apiVersionRE.MatchString(d.APIVersion) {
		t.Errorf("describe reports api_version %q, want x<major>.<minor>", d.APIVersion)
	}
	if d.SDKVersion == "" {
		t.Error("describe reports no sdk_version")
	}
	// A data source registered under plugin.DEFAULT_NAME is used as
	// data "alicloud-image-family" "x" {}.
	if len(d.Datasources) != 1 || d.Datasources[0] != "-packer-default-plugin-name-" {
		t.Errorf("describe datasources = %q, want the one default-named data source", d.Datasources)
	}
}

func TestPluginReleaseMatchesPackerInit(t *testing.T) {
	s := loadSnapshot(t)
	prefix := packerPrefix(t)

	// Step 2: the checksum file Packer asks for, by its exact name.
	sumsName := prefix + "v" + s.version + "_SHA256SUMS"
	sums := readSums(t, s.dir, sumsName)

	wantZips := map[string]bool{}
	for _, p := range wantPluginPlatforms() {
		goos, goarch, _ := strings.Cut(p, "/")
		wantZips[fmt.Sprintf("%sv%s_%s_%s_%s.zip", prefix, s.version, s.apiVersion, goos, goarch)] = true
	}
	// Exactly the plugin zips: Packer tries every line, and the CLI's assets
	// have their own checksum file.
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		if !wantZips[name] {
			t.Errorf("%s lists %s, which is not one of the plugin zips %v", sumsName, name, slices.Sorted(maps.Keys(wantZips)))
		}
	}
	for name := range wantZips {
		if _, ok := sums[name]; !ok {
			t.Errorf("%s does not list %s", sumsName, name)
		}
	}
	// Nothing else named like the plugin sits in the release.
	for _, name := range assetsLike(t, s.dir, prefix) {
		// The checksum file's detached signature is there when signing ran.
		if name != sumsName && name != sumsName+".sig" && !wantZips[name] {
			t.Errorf("unexpected plugin asset %s", name)
		}
	}

	// Steps 3 and 4, for every platform the release claims.
	seen := map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		e, err := parsePackerEntry(prefix, name)
		if err != nil {
			t.Error(err)
			continue
		}
		if e.version != "v"+s.version {
			t.Errorf("%s: version field %q, Packer looks for %q", name, e.version, "v"+s.version)
		}
		if e.api != s.apiVersion {
			t.Errorf("%s: API field %q, the plugin's describe says %q", name, e.api, s.apiVersion)
		}
		if e.ext != ".zip" {
			t.Errorf("%s: Packer downloads zips", name)
		}
		platform := e.os + "/" + e.arch
		seen[platform]++

		files, err := readZip(filepath.Join(s.dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		bin := strings.TrimSuffix(name, ".zip") + exeSuffix(e.os)
		data, ok := files[bin]
		if !ok {
			t.Errorf("%s: no %s inside, which is the file Packer extracts (has %v)", name, bin, slices.Sorted(maps.Keys(files)))
			continue
		}
		if len(files) != 1 {
			t.Errorf("%s holds %v; want only %s", name, slices.Sorted(maps.Keys(files)), bin)
		}
		checkExecutable(t, name+"/"+bin, data, platform)
	}
	for _, p := range wantPluginPlatforms() {
		if seen[p] != 1 {
			t.Errorf("platform %s has %d entries in %s, want 1", p, seen[p], sumsName)
		}
	}
}
