#!/usr/bin/env bash
# Benchmark: one CLI resolution vs the same call made by the smallest SDK
# program (bench/sdkmin), side by side, against the emulator process over
# TLS on loopback. Reports wall time (hyperfine) and peak memory (max RSS
# from GNU time), as ratios first. Target: CLI within 1.5x of sdkmin's wall
# time and under 20 MiB peak.
#
# Usage: scripts/bench-cli.sh [output.md]   (needs hyperfine and /usr/bin/time; apt-get install hyperfine time)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
for tool in hyperfine /usr/bin/time jq; do
  command -v "$tool" >/dev/null || { echo "bench-cli: $tool is missing (apt-get install -y hyperfine time jq)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'kill $emu 2>/dev/null || true; rm -rf "$work"' EXIT
go build -trimpath -o "$work/alicloud-image-family" ./cmd/alicloud-image-family
go build -trimpath -o "$work/sdkmin" ./bench/sdkmin

"$work/alicloud-image-family" emulator --fixture ecstest/testdata/demo-fixture.json --tls \
  --cert-file "$work/cert.pem" --ready-file "$work/ready.json" >/dev/null &
emu=$!
for _ in $(seq 200); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
endpoint=$(jq -r .endpoint "$work/ready.json")

export SSL_CERT_FILE="$work/cert.pem" NO_PROXY=127.0.0.1,localhost
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIDEMOACCESSKEYID0001 ALIBABA_CLOUD_ACCESS_KEY_SECRET=demo-secret-NOT-A-REAL-SECRET-0001
cli="$work/alicloud-image-family resolve --endpoint $endpoint --region cn-hangzhou --image-family web-base"
sdk="$work/sdkmin $endpoint cn-hangzhou web-base"
[ "$($cli)" = "$($sdk)" ] || { echo "bench-cli: the two programs disagree" >&2; exit 1; }

hyperfine --warmup 5 --runs 60 -N --export-json "$work/h.json" -n cli "$cli" -n sdkmin "$sdk" >&2

peak() { # max RSS in KiB over 10 runs
  local max=0 v
  for _ in $(seq 10); do
    v=$( { /usr/bin/time -f '%M' "$@" >/dev/null; } 2>&1 | tail -n1)
    [ "$v" -gt "$max" ] && max=$v
  done
  echo "$max"
}
cli_kib=$(peak $cli); sdk_kib=$(peak $sdk)
cli_ms=$(jq '.results[0].mean*1000' "$work/h.json"); sdk_ms=$(jq '.results[1].mean*1000' "$work/h.json")
cli_sd=$(jq '.results[0].stddev*1000' "$work/h.json"); sdk_sd=$(jq '.results[1].stddev*1000' "$work/h.json")
{
  echo "| measure | CLI / sdkmin | CLI | smallest SDK program |"
  echo "|---|---|---|---|"
  printf '| wall time (mean of 60) | %.2fx | %.1f ms ± %.1f | %.1f ms ± %.1f |\n' "$(echo "$cli_ms / $sdk_ms" | bc -l)" "$cli_ms" "$cli_sd" "$sdk_ms" "$sdk_sd"
  printf '| peak memory (max RSS of 10) | %.2fx | %.1f MiB | %.1f MiB |\n' "$(echo "$cli_kib / $sdk_kib" | bc -l)" "$(echo "$cli_kib/1024" | bc -l)" "$(echo "$sdk_kib/1024" | bc -l)"
  printf '| binary size | %.2fx | %.1f MiB | %.1f MiB |\n' "$(echo "$(stat -c %s "$work/alicloud-image-family") / $(stat -c %s "$work/sdkmin")" | bc -l)" \
    "$(echo "$(stat -c %s "$work/alicloud-image-family")/1048576" | bc -l)" "$(echo "$(stat -c %s "$work/sdkmin")/1048576" | bc -l)"
  echo
  echo "Machine: $(nproc) cores, $(go version | cut -d' ' -f3), $(uname -sr); emulator over TLS on loopback."
} > "$out"
