#!/usr/bin/env bash
# The one command that runs every test (the README's second command, and what
# CI runs). A fresh machine needs only Go: the script builds the real clients
# the end-to-end tests drive, checks formatting, vet and generated files,
# compiles everything while the network is still there, then runs the whole
# suite with -race in a loopback-only network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

export CI_TOOLS_BIN
CI_TOOLS_BIN=$(bash scripts/tools.sh packer act goreleaser | tail -n 1)
export PATH="$CI_TOOLS_BIN:$PATH"
# Loopback is never proxied, whatever the machine's proxy settings.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset DEBUG

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# bench/ is a module of its own (the benchmark report): ./... above stops at it.
echo "== bench module: go vet, go test"
(cd bench && go vet ./... && go test -count=1 ./...)

if [ -x scripts/check-generated.sh ] || [ -f scripts/check-generated.sh ]; then
  echo "== generated files are up to date"
  bash scripts/check-generated.sh
fi

echo "== compile tests (network still available for module downloads)"
go mod download
go build ./...
go test -race -count=1 -run '^$' ./... >/dev/null

echo "== go test -race ./... (loopback only)"
bash scripts/in-netns.sh go test -race -count=1 -timeout 40m ./... "$@"

# Fuzz targets run here only on their committed seeds (f.Add and
# testdata/fuzz/, part of `go test` above): the landing gate has no random
# element. Exploration is `make fuzz` and the scheduled workflow
# .github/workflows/fuzz.yml, which uploads what it finds; FUZZTIME=5s (or
# any duration) brings it back into this run on request.
if [ -n "${FUZZTIME:-}" ]; then
  echo "== fuzz targets, $FUZZTIME each (loopback only; FUZZTIME is set)"
  bash scripts/in-netns.sh bash scripts/fuzz.sh
fi

echo "== release packaging: goreleaser check + snapshot, plugin-check, packer init/install of the snapshot"
bash scripts/release-check.sh
