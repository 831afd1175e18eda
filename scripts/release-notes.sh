#!/usr/bin/env bash
# Prints the CHANGELOG.md section of one version (without its heading), for
# the GitHub release's notes (goreleaser release --release-notes FILE).
# Fails when CHANGELOG.md has no section for it, so a release cannot go out
# without its changelog entry.
#
# Usage: scripts/release-notes.sh X.Y.Z
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: release-notes.sh X.Y.Z}
version=${version#v}
notes=$(awk -v v="$version" '
  /^## / {
    if (on) exit
    # "## [1.2.3] - 2025-01-02" or "## 1.2.3 - ..."
    h = $2; gsub(/[\[\]]/, "", h)
    if (h == v) { on = 1; next }
  }
  on { print }
' CHANGELOG.md)
if [ -z "$(printf '%s' "$notes" | tr -d '[:space:]')" ]; then
  echo "release-notes: CHANGELOG.md has no section \"## [$version]\"; move the Unreleased entries under it" >&2
  exit 1
fi
printf '%s\n' "$notes"
