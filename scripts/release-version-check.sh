#!/usr/bin/env bash
# Fails unless the tag being released matches version/version.go.
#
# The binaries get their version from the tag (GoReleaser's ldflags), but the
# action's launcher, used at a floating tag such as @v1, reads
# version/version.go at that commit to know which release to download: a
# release commit must say Version = "X.Y.Z" and Prerelease = "" (for vX.Y.Z),
# or the floating tag would build from source instead of running the
# released binary.
#
# Usage: scripts/release-version-check.sh vX.Y.Z[-pre]
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:?usage: release-version-check.sh vX.Y.Z}
if ! [[ "$tag" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "release-version-check: $tag is not vMAJOR.MINOR.PATCH[-PRERELEASE]" >&2
  exit 1
fi
vf=version/version.go
v=$(sed -n 's/^var Version = "\([^"]*\)".*/\1/p' "$vf")
pre=$(sed -n 's/^var Prerelease = "\([^"]*\)".*/\1/p' "$vf")
full=$v
[ -z "$pre" ] || full="$v-$pre"
if [ "$full" != "${tag#v}" ]; then
  echo "release-version-check: tag $tag but $vf says Version=\"$v\" Prerelease=\"$pre\" ($full)." >&2
  echo "  Commit $vf with Version=\"${tag#v}\" and Prerelease=\"\" and tag that commit." >&2
  exit 1
fi
echo "release-version-check: $tag matches $vf"
