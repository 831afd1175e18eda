#!/usr/bin/env bash
# The benchmark report: bench/report measures and writes docs/benchmarks.md
# (the CLI vs bench/sdkmin, the data source in `packer build`, the action
# under act, fan-out over 30 regions, memory against hostile endpoints,
# binary sizes; see bench/report/main.go). This script only glues the tools:
# it builds Packer and act once (scripts/tools.sh, cached) and runs the
# report in a loopback-only network namespace when it can (as root,
# scripts/in-netns.sh). Needs go and git; no hyperfine, GNU time, jq or bc.
#
# Usage: scripts/bench.sh [output.md | report flags]   (`make bench`)
# Environment: CLI_RUNS, PACKER_RUNS, ACT_RUNS, ACT_SOURCE_RUNS, FANOUT_RUNS,
# HOSTILE_RUNS (runs per command; scripts/bench.sh -h lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in go git; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
# A tool that cannot be built here is reported as skipped by the report.
if bin=$(bash scripts/tools.sh packer act | tail -n1); then
  export CI_TOOLS_BIN=$bin
else
  echo "bench: scripts/tools.sh failed; the report will skip what it cannot run" >&2
fi
[ $# -gt 0 ] && [ "${1#-}" = "$1" ] && set -- -o "$@"
export GOPROXY=off GOFLAGS=-mod=readonly
# bench/ is a module of its own: build the report there, run it from here so
# that paths (the default -o docs/benchmarks.md) are the repository's.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -C bench -o "$work/report" ./report
bash scripts/in-netns.sh "$work/report" "$@"
