#!/usr/bin/env bash
# Benchmark: peak memory of the CLI binary against hostile endpoints (rows of
# ecstest.HostileRows: an endless chunked 200 body, a 64 MiB HTML error page,
# a gzip bomb, a 2 GiB Content-Length) vs a normal lookup, side by side in one
# run, as ratios first. bench/sdkmin (the SDK alone, no trust boundary) runs
# against the rows whose body ends by itself, to show what the 1 MiB cap
# saves. Peak RSS is the kernel's (wait4 ru_maxrss, what GNU time prints as
# %M), measured by TestHostileMemory in cmd/alicloud-image-family, which
# starts each row's TLS server on loopback and runs the binaries; it asserts
# nothing about the numbers.
#
# Usage: scripts/bench-hostile.sh [output.md]   (default: stdout)
#   needs jq and bc
# Environment (scripts/bench.sh sets these to compose its report):
#   AIF_BIN, SDKMIN_BIN   use these binaries instead of building them
#   HOSTILE_TEST_BIN      the compiled test binary (go test -c ./cmd/alicloud-image-family)
#   BENCH_JSON            also write the numbers as JSON to this file
#   BENCH_RUNS            runs per row and program (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
runs=${BENCH_RUNS:-10}
for tool in jq bc; do
  command -v "$tool" >/dev/null || { echo "bench-hostile: $tool is missing (apt-get install -y jq bc)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cli_bin=${AIF_BIN:-}
sdk_bin=${SDKMIN_BIN:-}
test_bin=${HOSTILE_TEST_BIN:-}
if [ -z "$cli_bin" ]; then
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/alicloud-image-family" ./cmd/alicloud-image-family
  cli_bin="$work/alicloud-image-family"
fi
if [ -z "$sdk_bin" ]; then
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/sdkmin" ./bench/sdkmin
  sdk_bin="$work/sdkmin"
fi
if [ -z "$test_bin" ]; then
  go test -c -o "$work/cli.test" ./cmd/alicloud-image-family
  test_bin="$work/cli.test"
fi

# The test binary starts the servers and runs the programs with nothing but
# PATH, a temporary HOME, SSL_CERT_FILE, NO_PROXY and fake keys.
(cd "$work" && HOSTILE_RSS_JSON="$work/hostile.json" HOSTILE_RSS_RUNS=$runs AIF_BIN=$cli_bin SDKMIN_BIN=$sdk_bin \
  "$test_bin" -test.run '^TestHostileMemory$' -test.count=1 -test.v >"$work/test.log" 2>&1) ||
  { cat "$work/test.log" >&2; echo "bench-hostile: the measurement failed" >&2; exit 1; }
[ -s "$work/hostile.json" ] || { cat "$work/test.log" >&2; echo "bench-hostile: no numbers (was the measurement skipped?)" >&2; exit 1; }
[ -n "${BENCH_JSON:-}" ] && cp "$work/hostile.json" "$BENCH_JSON"

j() { jq -r "$1" "$work/hostile.json"; }
mib() { printf '%.1f MiB' "$(echo "$1 / 1024" | bc -l)"; }
base=$(j '.cli[0].max_rss_kib')
{
  echo "| endpoint (row of the hostile table) | CLI peak RSS (max of $runs) | ratio to the normal lookup | CLI median | CLI exit | CLI wall time (mean) | SDK alone (sdkmin) peak RSS |"
  echo "|---|---|---|---|---|---|---|"
  n=$(j '.cli | length')
  for i in $(seq 0 $((n - 1))); do
    row=$(j ".cli[$i].row")
    max=$(j ".cli[$i].max_rss_kib") med=$(j ".cli[$i].median_rss_kib")
    exits=$(j ".cli[$i].exit_codes | map(tostring) | join(\", \")")
    wall=$(j ".cli[$i].mean_wall_ms")
    sdk=$(jq -r --arg row "$row" '.sdkmin // [] | map(select(.row == $row)) | .[0].max_rss_kib // empty' "$work/hostile.json")
    if [ -n "$sdk" ]; then
      sdk_cell="$(mib "$sdk") (exit $(jq -r --arg row "$row" '.sdkmin[] | select(.row == $row) | .exit_codes | map(tostring) | join(", ")' "$work/hostile.json"))"
    elif [ "$row" = "endless chunked 200 body" ]; then
      sdk_cell="not run: it would read until the server stops"
    else
      sdk_cell=""
    fi
    printf '| %s | %s | %.2fx | %s | %s | %.0f ms | %s |\n' "$row" "$(mib "$max")" "$(echo "$max / $base" | bc -l)" "$(mib "$med")" "$exits" "$wall" "$sdk_cell"
  done
  echo
  echo "Responses are read up to $(j .max_response_kib) KiB (imagefamily.MaxResponseBytes); each run gets a fresh server; $runs runs per row and program."
  echo "Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(j .go_version), $(uname -sr); TLS on loopback."
} >"$out"
