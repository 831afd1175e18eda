#!/usr/bin/env bash
# Renders docs/datasources/*.mdx and docs/post-processors/*.mdx (with the
# partials struct-markdown generated from the Go comments) into .web-docs/,
# the layout the Packer integrations site reads:
# .web-docs/components/{data-source,post-processor}/<slug>/README.md, front matter
# and the top heading removed (the site adds its own). .web-docs/README.md and
# .web-docs/metadata.hcl are written by hand.
#
# Called from the //go:generate lines of datasource/family and
# postprocessor/family, after the partials are regenerated; scripts/check-generated.sh checks the result.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# render KIND DIR: docs/DIR/*.mdx -> .web-docs/components/KIND/<slug>/README.md
render() {
  local kind=$1 dir=$2
  # renderdocs copies -src into -dst and replaces every @include '...' line.
  go tool packer-sdc renderdocs -src "docs/$dir" -partials docs-partials -dst "$tmp/$dir" 2>"$tmp/log" || {
    cat "$tmp/log" >&2
    exit 1
  }
  shopt -s nullglob
  for f in "$tmp/$dir"/*.mdx; do
    slug=$(basename "$f" .mdx)
    if grep -q "@include '" "$f"; then
      echo "render-docs: unresolved @include in docs/$dir/$slug.mdx" >&2
      exit 1
    fi
    out=.web-docs/components/$kind/$slug/README.md
    mkdir -p "$(dirname "$out")"
    awk '
      NR == 1 && /^---$/ { fm = 1; next }
      fm == 1 { if (/^---$/) fm = 2; next }
      !h1 && /^[[:space:]]*$/ { next }
      !h1 && /^# / { h1 = 1; skip = 1; next }
      skip && /^[[:space:]]*$/ { skip = 0; next }
      { h1 = 1; skip = 0; print }
    ' "$f" >"$out"
  done
}

render data-source datasources
render post-processor post-processors
