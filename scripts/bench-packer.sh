#!/usr/bin/env bash
# Benchmark: what the alicloud-image-family data source adds to a `packer
# build`. The same null template (a shell-local provisioner printing the image
# id) is built twice side by side with hyperfine: once resolving the id with
# the data source against the emulator process (TLS on loopback), once with the
# id written as a literal. The difference is the whole cost of the data
# source: starting the plugin process, Configure, the signed lookup, Execute.
# Target: under 0.3 s more.
#
# Usage: scripts/bench-packer.sh [output.md]   (needs hyperfine and jq; Packer
# v1.15.1 comes from scripts/tools.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
runs=${BENCH_RUNS:-30}
for tool in hyperfine jq bc; do
  command -v "$tool" >/dev/null || { echo "bench-packer: $tool is missing (apt-get install -y hyperfine jq bc)" >&2; exit 1; }
done
packer="$(bash scripts/tools.sh packer | tail -n1)/packer"

work=$(mktemp -d)
emu=
trap '[ -n "$emu" ] && kill "$emu" 2>/dev/null; rm -rf "$work"' EXIT
go build -trimpath -o "$work/alicloud-image-family" ./cmd/alicloud-image-family
go build -trimpath -o "$work/packer-plugin-alicloud-image-family" ./cmd/packer-plugin-alicloud-image-family

"$work/alicloud-image-family" emulator --fixture test/packer/testdata/fixture.json --tls \
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
"$packer" plugins install --path "$work/packer-plugin-alicloud-image-family" github.com/imagefamily/alicloud-image-family >/dev/null

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

ds=$(jq '.results[0].mean' "$work/h.json"); lit=$(jq '.results[1].mean' "$work/h.json")
ds_sd=$(jq '.results[0].stddev' "$work/h.json"); lit_sd=$(jq '.results[1].stddev' "$work/h.json")
ds_med=$(jq '.results[0].median' "$work/h.json"); lit_med=$(jq '.results[1].median' "$work/h.json")
diff=$(echo "$ds - $lit" | bc -l)
verdict=$(echo "$diff < 0.3" | bc -l)
{
  echo "| measure | data source / literal | data source | literal id | difference |"
  echo "|---|---|---|---|---|"
  printf '| packer build wall time (mean of %d) | %.2fx | %.3f s ± %.3f | %.3f s ± %.3f | %+.3f s |\n' \
    "$runs" "$(echo "$ds / $lit" | bc -l)" "$ds" "$ds_sd" "$lit" "$lit_sd" "$diff"
  printf '| median | %.2fx | %.3f s | %.3f s | %+.3f s |\n' \
    "$(echo "$ds_med / $lit_med" | bc -l)" "$ds_med" "$lit_med" "$(echo "$ds_med - $lit_med" | bc -l)"
  echo
  if [ "$verdict" = 1 ]; then echo "Target (under 0.3 s more): met."; else echo "Target (under 0.3 s more): MISSED."; fi
  echo "Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$packer" version | head -n1), $(go version | cut -d' ' -f3); emulator process over TLS on loopback."
} >"$out"
[ "$verdict" = 1 ]
