#!/usr/bin/env bash
# Regenerates every generated file (HCL2 specs, docs partials, .web-docs) and
# fails when the result differs from what is committed, so a change to a
# struct or a doc comment cannot ship with stale generated code or docs.
# CI runs it through scripts/test.sh; `make generate` fixes what it reports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

generated=(':(glob)**/*.hcl2spec.go' docs-partials .web-docs)

go generate ./...

# Stale: tracked files that changed. Missing: generated files never committed.
status=$(git status --porcelain --untracked-files=all -- "${generated[@]}")
if [ -n "$status" ]; then
  echo "check-generated: generated files are out of date; run 'make generate' (go generate ./...) and commit:" >&2
  echo "$status" >&2
  git --no-pager diff --stat -- "${generated[@]}" >&2 || true
  exit 1
fi
echo "check-generated: generated files are up to date"
