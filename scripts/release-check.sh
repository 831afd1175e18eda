#!/usr/bin/env bash
# Checks the release configuration end to end, without publishing anything:
#
#   1. `goreleaser check` on .goreleaser.yml;
#   2. `goreleaser release --snapshot --clean --skip=publish,sign` into dist/;
#   3. `packer-sdc plugin-check` on the snapshot's plugin binary;
#   4. the tests in test/release/ (build tag "release"): asset names and
#      contents against what `packer init` and action/launcher.sh download,
#      the real launcher installing the snapshot CLI from a loopback copy of
#      the release, and a real Packer installing the snapshot plugin
#      (`packer plugins install --path`, and `packer init` from the snapshot
#      served as a GitHub release through a loopback proxy) and running a
#      build whose data source resolves an image in the emulator.
#
# By default the snapshot builds a representative subset of platforms
# (linux/amd64, windows/amd64 for both binaries); RELEASE_CHECK_FULL=1 builds
# the whole release matrix (13 plugin and 6 CLI targets: slow on a cold build
# cache). Self-contained: needs only Go; GoReleaser and Packer are built once
# by scripts/tools.sh and cached.
#
# Usage: scripts/release-check.sh [go test flags, such as -v or -run X]
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
phase_start=$start
timings=()
phase() { # record the time since the last call under a name
  local now
  now=$(date +%s)
  timings+=("$(printf '%-28s %4ss' "$1" "$((now - phase_start))")")
  phase_start=$now
}

tools_bin=$(bash scripts/tools.sh goreleaser packer | tail -n 1)
export PATH="$tools_bin:$PATH"
export PACKER="$tools_bin/packer"
# Loopback is never proxied; nothing here needs any other address.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export CHECKPOINT_DISABLE=1
unset DEBUG
phase "tools"

echo "== plugin API version (from the plugin's describe)"
API_VERSION=$(bash scripts/release-api-version.sh)
export API_VERSION
echo "API_VERSION=$API_VERSION"
phase "api version"

echo "== goreleaser check"
goreleaser check
phase "goreleaser check"

if [ "${RELEASE_CHECK_FULL:-}" = 1 ]; then
  echo "== goreleaser snapshot: full matrix"
  unset RELEASE_CHECK_SUBSET
else
  echo "== goreleaser snapshot: representative subset (RELEASE_CHECK_FULL=1 for every platform)"
  export RELEASE_CHECK_SUBSET=1
fi
# The snapshot carries the version about to be released (version/version.go),
# without a pre-release suffix, so that `packer init` will install it.
SNAPSHOT_VERSION=$(sed -n 's/^var Version = "\([^"]*\)".*/\1/p' version/version.go)
export SNAPSHOT_VERSION
echo "snapshot version: $SNAPSHOT_VERSION"
goreleaser release --snapshot --clean --skip=publish,sign
phase "goreleaser snapshot"

echo "== packer-sdc plugin-check"
plugin_bin=$(ls dist/plugin_linux_amd64_v1/packer-plugin-alicloud-image-family_v*_"$API_VERSION"_linux_amd64)
# plugin-check wants the file name as given to start with packer-plugin-, so
# it runs from the binary's directory (inside the module, so `go tool` works).
(cd "$(dirname "$plugin_bin")" && go tool packer-sdc plugin-check "$(basename "$plugin_bin")")
echo "plugin-check: ok ($(basename "$plugin_bin"))"
phase "plugin-check"

echo "== test/release (loopback only)"
go vet -tags release ./test/release/
go test -c -tags release -o /dev/null ./test/release/ # compile while modules can still download
bash scripts/in-netns.sh go test -tags release -count=1 -timeout 20m ./test/release/ "$@"
phase "test/release"

echo "== release-check: ok"
printf '  %s\n' "${timings[@]}"
echo "  total                        $(($(date +%s) - start))s"
