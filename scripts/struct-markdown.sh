#!/usr/bin/env bash
# Runs `go tool packer-sdc struct-markdown` for the package in the current
# directory (the //go:generate line of datasource/family calls it).
#
# Why a wrapper: packer-sdc v0.6.9 finds the project root by walking up to a
# directory named packer-plugin-*, and when there is none it loops forever
# (filepath.Dir("/") is "/"). A checkout is not always named after the
# repository (a worktree, act's copy, a CI workspace), so when the root has
# another name we run the tool through a symlink that has the expected name.
# The partials it writes land in the real docs-partials/ through the link.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$(pwd)
case "$here" in
  "$root") rel="" ;;
  "$root"/*) rel=${here#"$root"/} ;;
  *) echo "struct-markdown.sh: run me from a package directory inside $root" >&2; exit 2 ;;
esac

case "$(basename "$root")" in
  packer-plugin-*) exec timeout 300 go tool packer-sdc struct-markdown "$@" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$root" "$tmp/packer-plugin-alicloud-image-family"
# cd through the link keeps $PWD logical, so the tool sees the link's name.
cd "$tmp/packer-plugin-alicloud-image-family/$rel"
timeout 300 go tool packer-sdc struct-markdown "$@"
