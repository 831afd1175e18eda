// Package version holds the one version string every front reports: the CLI's
// --version, the Packer plugin's describe output, the action's user agent.
// Release builds stamp it with -ldflags "-X .../version.Version=1.2.3".
package version

// Version is the semantic version without a leading "v". "0.0.0-dev" marks a
// build from source that the release pipeline did not stamp.
var Version = "0.1.0"

// Prerelease is appended after a hyphen when non-empty ("dev" for source builds).
var Prerelease = "dev"

// String returns the full version, such as "0.1.0" or "0.1.0-dev".
func String() string {
	if Prerelease == "" {
		return Version
	}
	return Version + "-" + Prerelease
}
