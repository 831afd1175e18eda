// Package releasetest checks what a release publishes, on a GoReleaser
// snapshot in dist/: that the Packer plugin's assets have the names and
// layout `packer init` downloads, that the CLI's assets are the ones the
// action's launcher downloads and verifies, and that the artifacts work (a
// real Packer installs the plugin and runs a build with it; the real
// launcher installs the CLI from a loopback copy of the release and runs
// the action with it). All traffic stays on loopback.
//
// The tests carry the build tag "release" because they need the snapshot;
// scripts/release-check.sh builds it and runs them:
//
//	go test -tags release ./test/release/
//
// Environment: RELEASE_DIST (default ../../dist), RELEASE_CHECK_FULL=1 (the
// snapshot has every platform, not the representative subset), PACKER (the
// packer binary; default from PATH).
package releasetest
