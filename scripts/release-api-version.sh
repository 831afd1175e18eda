#!/usr/bin/env bash
# Prints the Packer plugin API version (such as x5.0) that the plugin itself
# reports in `describe`, for the release file names (API_VERSION in
# .goreleaser.yml). Taking it from the binary, not from a constant here, keeps
# the names right when an SDK upgrade changes the protocol.
#
# Usage: scripts/release-api-version.sh           print it
#        scripts/release-api-version.sh --check   fail unless $API_VERSION equals it
#                                                 (GoReleaser's before hook)
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=./cmd/packer-plugin-alicloud-image-family
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A host build: describe must run here. The flags match the release build so
# the build cache is shared with GoReleaser's host target.
CGO_ENABLED=0 go build -trimpath -o "$tmp/plugin" "$pkg"
desc=$("$tmp/plugin" describe)
api=$(printf '%s' "$desc" | sed -n 's/.*"api_version" *: *"\([^"]*\)".*/\1/p')
if ! [[ "$api" =~ ^x[0-9]+\.[0-9]+$ ]]; then
  echo "release-api-version: $pkg describe gave no api_version of the form xN.M: $desc" >&2
  exit 1
fi

if [ "${1:-}" = --check ]; then
  if [ "${API_VERSION:-}" != "$api" ]; then
    echo "release-api-version: API_VERSION is '${API_VERSION:-}' but the plugin's describe says '$api'; set API_VERSION=\$(bash scripts/release-api-version.sh)" >&2
    exit 1
  fi
  exit 0
fi
printf '%s\n' "$api"
