#!/usr/bin/env bash
# Benchmark: what the alicloud-image-family data source adds to a `packer
# build`. The same null template (a shell-local provisioner printing the image
# id) is built twice side by side with hyperfine: once resolving the id with
# the data source against the emulator process (TLS on loopback), once with the
# id written as a literal. The difference is the whole cost of the data
# source: starting the plugin process, Configure, the signed lookup, Execute.
# Target: under 0.3 s more.
#
# Peak memory of the plugin process itself is measured separately (a few
# more builds), with the plugin installed behind a wrapper that runs it under
# GNU time: Packer starts the plugin as its own process, so timing `packer`
# would only report the larger of the two.
#
# Usage: scripts/bench-packer.sh [output.md]   (needs hyperfine, GNU time, jq
# and bc; Packer v1.15.1 comes from scripts/tools.sh)
# Environment (scripts/bench.sh sets these to compose its report):
#   PACKER_BIN, AIF_BIN, PLUGIN_BIN  use these binaries instead of building them
#   BENCH_JSON       also write the numbers as JSON to this file
#   BENCH_RUNS       hyperfine runs per template (default 30)
#   BENCH_RSS_RUNS   builds under the RSS-recording wrapper (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
runs=${BENCH_RUNS:-30}
rss_runs=${BENCH_RSS_RUNS:-5}
for tool in hyperfine /usr/bin/time jq bc; do
  command -v "$tool" >/dev/null || { echo "bench-packer: $tool is missing (apt-get install -y hyperfine time jq bc)" >&2; exit 1; }
done
packer=${PACKER_BIN:-}
if [ -z "$packer" ]; then
  bash scripts/tools.sh packer >&2
  packer="${TOOLS_BIN:-$HOME/.cache/alicloud-image-family/tools/bin}/packer"
fi

work=$(mktemp -d)
emu=
trap '[ -n "$emu" ] && kill "$emu" 2>/dev/null; rm -rf "$work"' EXIT
aif=${AIF_BIN:-}
plugin=${PLUGIN_BIN:-}
if [ -z "$aif" ]; then
  go build -trimpath -o "$work/alicloud-image-family" ./cmd/alicloud-image-family
  aif="$work/alicloud-image-family"
fi
if [ -z "$plugin" ]; then
  go build -trimpath -o "$work/packer-plugin-alicloud-image-family" ./cmd/packer-plugin-alicloud-image-family
  plugin="$work/packer-plugin-alicloud-image-family"
fi

"$aif" emulator --fixture test/packer/testdata/fixture.json --tls \
  --cert-file "$work/cert.pem" --ready-file "$work/ready.json" >/dev/null &
emu=$!
for _ in $(seq 200); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
[ -s "$work/ready.json" ] || { echo "bench-packer: the emulator did not start" >&2; exit 1; }
url=$(jq -r .url "$work/ready.json")

# Packer and the plugin see only this environment: no machine credentials,
# config or plugins; loopback never proxied.
mkdir -p "$work/home" "$work/plugins" "$work/config"
export HOME="$work/home" PACKER_PLUGIN_PATH="$work/plugins" PACKER_CONFIG_DIR="$work/config"
export CHECKPOINT_DISABLE=1 PACKER_NO_COLOR=1 SSL_CERT_FILE="$work/cert.pem"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export ALICLOUD_ACCESS_KEY=LTAIE2EPACKERKEY0001 ALICLOUD_SECRET_KEY=e2e-secret-MUST-NOT-LEAK-0001
unset PACKER_LOG
"$packer" plugins install --path "$plugin" github.com/imagefamily/alicloud-image-family >/dev/null

mkdir -p "$work/datasource" "$work/literal"
cat >"$work/datasource/main.pkr.hcl" <<HCL
data "alicloud-image-family" "base" {
  region              = "cn-hangzhou"
  image_family        = "web-base"
  custom_endpoint_ecs = "$url"
}
source "null" "bench" {
  communicator = "none"
}
build {
  sources = ["source.null.bench"]
  provisioner "shell-local" {
    inline = ["echo source_image=\${data.alicloud-image-family.base.image_id}"]
  }
}
HCL
cat >"$work/literal/main.pkr.hcl" <<'HCL'
locals {
  image_id = "m-e2e-web-v2"
}
source "null" "bench" {
  communicator = "none"
}
build {
  sources = ["source.null.bench"]
  provisioner "shell-local" {
    inline = ["echo source_image=${local.image_id}"]
  }
}
HCL

# Both must print the same id, or the comparison is meaningless.
a=$("$packer" build -color=false "$work/datasource" | grep -o 'source_image=[^ ]*' | head -n1)
b=$("$packer" build -color=false "$work/literal" | grep -o 'source_image=[^ ]*' | head -n1)
[ -n "$a" ] && [ "$a" = "$b" ] || { echo "bench-packer: the two builds disagree ($a vs $b)" >&2; exit 1; }

hyperfine --warmup 3 --runs "$runs" --export-json "$work/h.json" -N \
  -n "data source" "$packer build -color=false $work/datasource" \
  -n "literal id" "$packer build -color=false $work/literal" >&2

# Peak memory. The plugin: Packer ends it with SIGKILL, so nothing can
# report at its exit; it is installed in a second plugin directory behind a
# wrapper that starts a sampler and then execs the plugin (same pid). The
# sampler copies the kernel's high-water mark (VmHWM, peak RSS so far) every
# 20 ms until the process is gone, so the last copy is the peak up to 20 ms
# before the kill. Packer: GNU time on `packer build` reports the larger of
# Packer and its largest child, so it is given for both templates.
mkdir -p "$work/rss-plugins" "$work/wrap" "$work/hwm"
cat >"$work/wrap/packer-plugin-alicloud-image-family" <<SH
#!/usr/bin/env bash
pid=\$\$
out="$work/hwm/\$pid"
echo "\$*" >"\$out.args"
(
  while [ -r /proc/\$pid/status ]; do
    while read -r k v _; do [ "\$k" = VmHWM: ] && echo "\$v" >"\$out"; done </proc/\$pid/status
    sleep 0.02
  done
) </dev/null >/dev/null 2>&1 &
exec "$plugin" "\$@"
SH
chmod +x "$work/wrap/packer-plugin-alicloud-image-family"
PACKER_PLUGIN_PATH="$work/rss-plugins" "$packer" plugins install --path "$work/wrap/packer-plugin-alicloud-image-family" github.com/imagefamily/alicloud-image-family >/dev/null
rm -f "$work"/hwm/*
packer_ds_kib=0 packer_lit_kib=0
for _ in $(seq "$rss_runs"); do
  v=$( { PACKER_PLUGIN_PATH="$work/rss-plugins" /usr/bin/time -f '%M' "$packer" build -color=false "$work/datasource" >/dev/null; } 2>&1 | tail -n1)
  [ "$v" -gt "$packer_ds_kib" ] && packer_ds_kib=$v
  v=$( { /usr/bin/time -f '%M' "$packer" build -color=false "$work/literal" >/dev/null; } 2>&1 | tail -n1)
  [ "$v" -gt "$packer_lit_kib" ] && packer_lit_kib=$v
done
sleep 0.1 # the last sampler notices its process is gone
# Only the starts that served a build (not `describe`, which Packer runs to
# discover the plugin).
plugin_kib=0 plugin_starts=0
for a in "$work"/hwm/*.args; do
  [ -e "$a" ] || continue
  grep -q '^describe' "$a" && continue
  plugin_starts=$((plugin_starts + 1))
  v=$(sed 's/[^0-9]//g' "${a%.args}" 2>/dev/null || echo 0)
  [ "${v:-0}" -gt "$plugin_kib" ] && plugin_kib=$v
done
[ "$plugin_kib" -gt 0 ] || { echo "bench-packer: the plugin wrapper recorded nothing" >&2; exit 1; }

ds=$(jq '.results[0].mean' "$work/h.json"); lit=$(jq '.results[1].mean' "$work/h.json")
ds_sd=$(jq '.results[0].stddev' "$work/h.json"); lit_sd=$(jq '.results[1].stddev' "$work/h.json")
ds_med=$(jq '.results[0].median' "$work/h.json"); lit_med=$(jq '.results[1].median' "$work/h.json")
diff=$(echo "$ds - $lit" | bc -l)
verdict=$(echo "$diff < 0.3" | bc -l)
if [ -n "${BENCH_JSON:-}" ]; then
  jq -n --argjson h "$(cat "$work/h.json")" --argjson plugin "$plugin_kib" --argjson starts "$plugin_starts" \
    --argjson pds "$packer_ds_kib" --argjson plit "$packer_lit_kib" --argjson rss_runs "$rss_runs" \
    --argjson size "$(stat -c %s "$plugin")" --arg packer_version "$("$packer" version | head -n1)" '
    def r(i): $h.results[i] | {mean_s: .mean, stddev_s: .stddev, median_s: .median, min_s: .min, runs: (.times|length)};
    {datasource: r(0), literal: r(1), plugin_rss_kib: $plugin, plugin_starts: $starts, rss_runs: $rss_runs,
     packer_rss_kib: {datasource: $pds, literal: $plit}, plugin_size_bytes: $size, packer_version: $packer_version}' >"$BENCH_JSON"
fi
{
  echo "| measure | data source / literal | data source | literal id | difference |"
  echo "|---|---|---|---|---|"
  printf '| packer build wall time (mean of %d) | %.2fx | %.3f s ± %.3f | %.3f s ± %.3f | %+.3f s |\n' \
    "$runs" "$(echo "$ds / $lit" | bc -l)" "$ds" "$ds_sd" "$lit" "$lit_sd" "$diff"
  printf '| median | %.2fx | %.3f s | %.3f s | %+.3f s |\n' \
    "$(echo "$ds_med / $lit_med" | bc -l)" "$ds_med" "$lit_med" "$(echo "$ds_med - $lit_med" | bc -l)"
  printf '| peak memory of packer (max RSS of %d builds; the larger of Packer and its largest child) | %.2fx | %.1f MiB | %.1f MiB | |\n' \
    "$rss_runs" "$(echo "$packer_ds_kib / $packer_lit_kib" | bc -l)" "$(echo "$packer_ds_kib/1024" | bc -l)" "$(echo "$packer_lit_kib/1024" | bc -l)"
  echo
  printf 'The plugin process itself peaked at %.1f MiB (max RSS over its %d starts in %d builds, sampled from /proc by a wrapper installed as the plugin; Packer SIGKILLs plugins, so GNU time cannot report them).\n' \
    "$(echo "$plugin_kib/1024" | bc -l)" "$plugin_starts" "$rss_runs"
  if [ "$verdict" = 1 ]; then echo "Target (under 0.3 s more): met."; else echo "Target (under 0.3 s more): MISSED."; fi
  echo "Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$packer" version | head -n1), $(go version | cut -d' ' -f3); emulator process over TLS on loopback."
} >"$out"
[ "$verdict" = 1 ]
