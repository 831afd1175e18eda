#!/usr/bin/env bash
# Writes the action launcher's checksum file, alicloud-image-family_<version>_SHA256SUMS,
# listing the CLI archives (alicloud-image-family_<version>_<os>_<arch>.tar.gz
# and .zip) in sha256sum format. action/launcher.sh downloads it and refuses
# any archive it does not list.
#
# Why a script: GoReleaser (open source) writes one checksum file per release,
# and that one must be the Packer plugin's (packer-plugin-..._v<version>_SHA256SUMS,
# plugin zips only, as `packer init` reads it). .goreleaser.yml runs this
# through its `sboms` hook (artifacts: any), which runs after the archives are
# built, in the dist directory, and uploads what it writes with the release.
#
# Usage (in the dist directory): release-cli-sums.sh OUTPUT VERSION
set -euo pipefail
out=${1:?usage: release-cli-sums.sh OUTPUT VERSION}
version=${2:?usage: release-cli-sums.sh OUTPUT VERSION}

sum() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1"
  else
    shasum -a 256 "$1"
  fi
}

shopt -s nullglob
archives=("alicloud-image-family_${version}_"*.tar.gz "alicloud-image-family_${version}_"*.zip)
if [ ${#archives[@]} -eq 0 ]; then
  echo "release-cli-sums: no alicloud-image-family_${version}_* archives in $(pwd)" >&2
  exit 1
fi
# Sorted by name, like GoReleaser's own checksum file; written whole or not at all.
printf '%s\n' "${archives[@]}" | LC_ALL=C sort | while IFS= read -r f; do sum "$f"; done >"$out.tmp"
mv "$out.tmp" "$out"
