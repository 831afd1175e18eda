#!/usr/bin/env bash
# Runs every `go test -fuzz` target in the repository for a bounded time each
# (FUZZTIME, default 10s). Seed corpora (f.Add and testdata/fuzz/) also run
# as plain tests in every `go test`. New crashers are written to
# testdata/fuzz/ by Go; commit them with the fix.
#
# Go's fuzzing engine sometimes ends a time-bounded run with a bare "context
# deadline exceeded" when the time runs out while a worker is still inside
# an input (targets that make real loopback HTTP calls take milliseconds per
# input). That is the engine's timer, not a finding: no failing input is
# written. Such a run is repeated once; a failure that writes a failing
# input, or a second engine timeout, fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    for try in 1 2; do
      if [ "$try" = 1 ]; then echo "== fuzz $pkg $name ($fuzztime)"; else echo "== fuzz $pkg $name ($fuzztime), again after an engine timeout"; fi
      if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
        break
      fi
      if [ "$try" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        continue
      fi
      exit 1
    done
  done
done
