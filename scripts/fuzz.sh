#!/usr/bin/env bash
# Runs every `go test -fuzz` target in the repository for a bounded time each
# (FUZZTIME, default 10s). Seed corpora (f.Add and testdata/fuzz/) also run
# as plain tests in every `go test`. New crashers are written to
# testdata/fuzz/ by Go; commit them with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "== fuzz $pkg $name ($fuzztime)"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
