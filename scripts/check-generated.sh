#!/usr/bin/env bash
# Regenerates every generated file (HCL2 specs, docs partials, .web-docs, and
# what tools/fieldgen writes from imagefamily.Fields()) and fails when the
# result differs from what is committed, so a change to a struct, a doc
# comment or the table of image fields cannot ship with stale generated code
# or docs.
# CI runs it through scripts/test.sh; `make generate` fixes what it reports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# output.go, action.yml's outputs and the field tables of docs/action.md and
# docs/cli.md come from the core's table of image fields (tools/fieldgen).
generated=(':(glob)**/*.hcl2spec.go' docs-partials .web-docs
  datasource/family/output.go action.yml docs/action.md docs/cli.md)

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
