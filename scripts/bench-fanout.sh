#!/usr/bin/env bash
# Fan-out: one `resolve` of 30 regions vs one region, against an emulator
# (TLS, loopback) that adds 100 ms to every request, so the wall time shows
# how many round trips the regions cost: at the default settings
# (--concurrency 0: every region at once, up to imagefamily.DefaultConcurrency)
# and with --concurrency 8 (the default before release promotion). Reports
# the ratios to one region first, and the 30-region resolve's peak memory.
#
# Usage: scripts/bench-fanout.sh [output.md]
#   needs hyperfine, GNU time, jq, bc (apt-get install -y hyperfine time jq bc)
# Environment (scripts/bench.sh sets these to compose its report):
#   AIF_BIN      use this binary instead of building it
#   BENCH_JSON   also write the numbers as JSON to this file
#   BENCH_RUNS   hyperfine runs per command (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
runs=${BENCH_RUNS:-20}
for tool in hyperfine /usr/bin/time jq bc; do
  command -v "$tool" >/dev/null || { echo "bench-fanout: $tool is missing (apt-get install -y hyperfine time jq bc)" >&2; exit 1; }
done
work=$(mktemp -d)
emu=
trap '[ -n "$emu" ] && kill "$emu" 2>/dev/null; rm -rf "$work"' EXIT
bin=${AIF_BIN:-}
if [ -z "$bin" ]; then
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/alicloud-image-family" ./cmd/alicloud-image-family
  bin="$work/alicloud-image-family"
fi

# The demo fixture plus 30 regions, each with one web-base image.
regions=$(seq -f 'bench-region-%g' 1 30 | paste -sd, -)
jq --arg regions "$regions" '
  ($regions | split(",")) as $rs
  | .regions = $rs
  | .images = ([$rs[] as $r | {($r): [{ImageId: ("m-" + $r), ImageName: "web-base-1", ImageFamily: "web-base",
      ImageVersion: "1", Status: "Available", CreationTime: "2024-03-14T02:00:00Z", Architecture: "x86_64",
      OSType: "linux", Size: 40}]}] | add)' ecstest/testdata/demo-fixture.json >"$work/fixture.json"
"$bin" emulator --fixture "$work/fixture.json" --tls --cert-file "$work/cert.pem" \
  --ready-file "$work/ready.json" --latency 100ms >/dev/null 2>&1 &
emu=$!
for _ in $(seq 200); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
[ -s "$work/ready.json" ] || { echo "bench-fanout: the emulator did not start" >&2; exit 1; }
endpoint=$(jq -r .endpoint "$work/ready.json")

# No machine credentials or CLI profiles; loopback never proxied.
mkdir -p "$work/home"
export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1
env_=(env HOME="$work/home" SSL_CERT_FILE="$work/cert.pem" ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIDEMOACCESSKEYID0001
  ALIBABA_CLOUD_ACCESS_KEY_SECRET=demo-secret-NOT-A-REAL-SECRET-0001)
fan="$bin resolve --endpoint $endpoint --image-family web-base"
n=$("${env_[@]}" $fan --region "$regions" | grep -c '^bench-region-[0-9]*	m-bench-region-')
[ "$n" = 30 ] || { echo "bench-fanout: the 30-region resolve printed $n images" >&2; exit 1; }
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/h.json" \
  -n "1 region" "${env_[*]} $fan --region bench-region-1" \
  -n "30 regions, default settings" "${env_[*]} $fan --region $regions" \
  -n "30 regions, --concurrency 8" "${env_[*]} $fan --region $regions --concurrency 8" >&2
rss=0
for _ in 1 2 3; do
  v=$( { "${env_[@]}" /usr/bin/time -f '%M' $fan --region "$regions" >/dev/null; } 2>&1 | tail -n1)
  [ "$v" -gt "$rss" ] && rss=$v
done

ms() { jq ".results[$1].$2*1000" "$work/h.json"; }
if [ -n "${BENCH_JSON:-}" ]; then
  jq --argjson rss "$rss" --argjson runs "$runs" '
    def r(i): {mean_ms: (.results[i].mean*1000), stddev_ms: (.results[i].stddev*1000), median_ms: (.results[i].median*1000)};
    {one: r(0), all: r(1), c8: r(2), rss_kib: $rss, runs: $runs}' "$work/h.json" >"$BENCH_JSON"
fi
row() { # label index
  printf '| %s | %.2fx | %.1f ms ± %.1f | %.1f ms |\n' "$1" "$(echo "$(ms "$2" mean) / $(ms 0 mean)" | bc -l)" \
    "$(ms "$2" mean)" "$(ms "$2" stddev)" "$(ms "$2" median)"
}
{
  echo "| | ratio to 1 region (means) | wall time (mean ± sd) | median |"
  echo "|---|---|---|---|"
  row "1 region" 0
  row "30 regions, default settings (\`--concurrency 0\`: every region at once, up to 32)" 1
  row "30 regions, \`--concurrency 8\` (the default before; 4 waves)" 2
  echo
  printf 'Peak memory of the 30-region resolve at the default settings (max RSS of 3, GNU time): %.1f MiB.\n' "$(echo "$rss / 1024" | bc -l)"
  echo "Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), $(uname -sr); emulator over TLS on loopback, 100 ms added to every request."
} >"$out"
