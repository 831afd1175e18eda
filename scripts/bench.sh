#!/usr/bin/env bash
# The benchmark report: writes docs/benchmarks.md from one run on this
# machine, every comparison side by side, ratios first with the absolute
# numbers beside them and the machine described.
#
#   - CLI vs the smallest SDK program (bench/sdkmin) vs the aliyun CLI when
#     installed: wall time and peak memory (scripts/bench-cli.sh);
#   - the data source's cost inside `packer build`, and the plugin's peak
#     memory (scripts/bench-packer.sh);
#   - the action step's cost under act v0.2.89 (host mode): a workflow whose
#     step runs the action (`uses: ./`) vs the same workflow with a one-line
#     step (testdata/bench/);
#   - fan-out: 30 regions vs 1 region against an emulator adding 100 ms to
#     every request, at the default settings and with --concurrency 8
#     (scripts/bench-fanout.sh);
#   - the CLI's peak memory against hostile endpoints (an endless body, a
#     64 MiB error page, a gzip bomb, a 2 GiB Content-Length) vs a normal
#     lookup, and the SDK alone against the same (scripts/bench-hostile.sh);
#   - peak memory of each binary, and binary sizes.
#
# Usage: scripts/bench.sh [output.md]   (default docs/benchmarks.md; `make bench`)
# Needs hyperfine, GNU time, jq and bc: apt-get install -y hyperfine time jq bc.
# Packer and act come from scripts/tools.sh (built once, cached). Everything
# measured talks to loopback only; as root the measurements run in a
# loopback-only network namespace (scripts/in-netns.sh). About 2-3 minutes
# once the tools are cached.
#
# Environment: CLI_RUNS (default 100), PACKER_RUNS (40), ACT_RUNS (20),
# ACT_SOURCE_RUNS (5), FANOUT_RUNS (20) set the hyperfine runs per command;
# HOSTILE_RUNS (10) the runs per hostile row and program.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --measure ]; then
  phase=measure
  work=$2
  out=$3
else
  phase=prepare
  out=${1:-docs/benchmarks.md}
fi

# ---- phase 1: check tools, build everything (no measurement) ---------------
if [ "$phase" = prepare ]; then
  missing=()
  for tool in hyperfine jq bc go git; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  /usr/bin/time --version 2>&1 | grep -q GNU || missing+=("GNU time (/usr/bin/time)")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: missing ${missing[*]}; install them with: apt-get install -y hyperfine time jq bc" >&2
    exit 1
  fi
  started=$(date +%s)
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "bench: building (load average $load_start)" >&2
  bash scripts/tools.sh packer act >&2
  tools_bin=${TOOLS_BIN:-$HOME/.cache/alicloud-image-family/tools/bin}
  mkdir -p "$work/bin"
  ln -s "$(readlink -f "$tools_bin/packer")" "$work/bin/packer"
  ln -s "$(readlink -f "$tools_bin/act")" "$work/bin/act"
  # Built as releases are (.goreleaser.yml: -trimpath -s -w), so sizes are
  # what users download. Nothing is fetched: modules come from the cache.
  for p in alicloud-image-family:./cmd/alicloud-image-family \
    packer-plugin-alicloud-image-family:./cmd/packer-plugin-alicloud-image-family \
    sdkmin:./bench/sdkmin; do
    GOPROXY=off GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$work/bin/${p%%:*}" "${p#*:}"
  done
  # The hostile-endpoint memory measurement (TestHostileMemory) runs from
  # the CLI's compiled tests, which start the hostile servers in process.
  GOPROXY=off GOFLAGS=-mod=readonly CGO_ENABLED=0 go test -c -o "$work/bin/cli.test" ./cmd/alicloud-image-family
  # act copies "the local repository" for actions/checkout; give it exactly
  # this working tree (tracked and new files), as test/action does.
  mkdir -p "$work/ws"
  git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then
      mkdir -p "$work/ws/$(dirname "$f")"
      cp -p "$f" "$work/ws/$f"
    fi
  done
  (cd "$work/ws" && git init -q -b main && git add -A &&
    git -c user.email=bench@example.invalid -c user.name=bench commit -q -m bench)
  printf '%s\n' "$started" >"$work/started"
  printf '%s\n' "$load_start" >"$work/load_start"
  for k in GOCACHE GOMODCACHE GOPATH GOROOT; do printf '%s=%s\n' "$k" "$(go env "$k")"; done >"$work/goenv"
  go version | cut -d' ' -f3 >"$work/goversion"
  bash scripts/in-netns.sh bash scripts/bench.sh --measure "$work" "$out"
  exit
fi

# ---- phase 2: measure (loopback only) --------------------------------------
bin=$work/bin
cli_runs=${CLI_RUNS:-100}
packer_runs=${PACKER_RUNS:-40}
act_runs=${ACT_RUNS:-20}
act_source_runs=${ACT_SOURCE_RUNS:-5}
fanout_runs=${FANOUT_RUNS:-20}
hostile_runs=${HOSTILE_RUNS:-10}
netns=no
# (/sys/class/net shows the namespace /sys was mounted in, so ask ip.)
[ "$(ip -o link show 2>/dev/null | grep -vc ': lo:' || true)" = 0 ] && ip -o link show 2>/dev/null | grep -q ': lo:' && netns=yes
export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1
emus=()
trap 'for p in "${emus[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# start_emulator NAME FIXTURE [flags...]: TLS emulator; sets $endpoint and $cert.
start_emulator() {
  local name=$1 fixture=$2
  shift 2
  "$bin/alicloud-image-family" emulator --fixture "$fixture" --tls --cert-file "$work/$name.pem" \
    --ready-file "$work/$name.ready" "$@" >/dev/null 2>&1 &
  emus+=($!)
  for _ in $(seq 200); do [ -s "$work/$name.ready" ] && break; sleep 0.05; done
  [ -s "$work/$name.ready" ] || { echo "bench: emulator $name did not start" >&2; exit 1; }
  endpoint=$(jq -r .endpoint "$work/$name.ready")
  cert="$work/$name.pem"
}

# 1. CLI vs smallest SDK program vs aliyun CLI.
echo "bench: CLI vs sdkmin" >&2
AIF_BIN="$bin/alicloud-image-family" SDKMIN_BIN="$bin/sdkmin" BENCH_JSON="$work/cli.json" BENCH_RUNS=$cli_runs \
  bash scripts/bench-cli.sh "$work/cli.md"

# 2. The data source inside packer build.
echo "bench: packer build" >&2
packer_rc=0
PACKER_BIN="$bin/packer" AIF_BIN="$bin/alicloud-image-family" PLUGIN_BIN="$bin/packer-plugin-alicloud-image-family" \
  BENCH_JSON="$work/packer.json" BENCH_RUNS=$packer_runs BENCH_RSS_RUNS=5 \
  bash scripts/bench-packer.sh "$work/packer.md" || packer_rc=$?
[ -s "$work/packer.json" ] || { echo "bench: bench-packer.sh failed" >&2; exit 1; }

# 3. Fan-out: 30 regions, 100 ms added to every request.
echo "bench: fan-out" >&2
AIF_BIN="$bin/alicloud-image-family" BENCH_JSON="$work/fanout.json" BENCH_RUNS=$fanout_runs \
  bash scripts/bench-fanout.sh "$work/fanout.md"

# 3b. Memory against hostile endpoints.
echo "bench: hostile endpoints" >&2
AIF_BIN="$bin/alicloud-image-family" SDKMIN_BIN="$bin/sdkmin" HOSTILE_TEST_BIN="$bin/cli.test" \
  BENCH_JSON="$work/hostile.json" BENCH_RUNS=$hostile_runs bash scripts/bench-hostile.sh "$work/hostile.md"

# 4. The action step under act.
echo "bench: act" >&2
start_emulator act ecstest/testdata/demo-fixture.json
# RSS of the action's process: the launcher runs $ALICLOUD_IMAGE_FAMILY_BIN.
cat >"$work/action-rss" <<SH
#!/bin/sh
exec /usr/bin/time -a -o "$work/action-rss.log" -f '%M' "$bin/alicloud-image-family" "\$@"
SH
chmod +x "$work/action-rss"
# act-run WORKFLOW BIN|source [time]: one act run, offline, every non-loopback
# connection sent to a closed loopback port; checks the job's result and
# appends the step times.
cat >"$work/act-run" <<SH
#!/usr/bin/env bash
set -euo pipefail
wf=\$1 how=\$2
dead=http://127.0.0.1:9
extra=(--env ALICLOUD_IMAGE_FAMILY_BIN="\$how")
if [ "\$how" = source ]; then
  extra=(--env GOPROXY=off --env GOFLAGS=-mod=mod --env GOTOOLCHAIN=local --env CGO_ENABLED=0)
  while IFS= read -r kv; do extra+=(--env "\$kv"); done <"$work/goenv"
fi
mkdir -p "$work/act-home"
cd "$work/ws"
log="$work/act-\$wf-\$\$.log"
\${TIMER:-} env -i HOME="$work/act-home" PATH="$PATH" ACT_DISABLE_VERSION_CHECK=1 \\
  HTTP_PROXY=\$dead HTTPS_PROXY=\$dead http_proxy=\$dead https_proxy=\$dead ALL_PROXY=\$dead \\
  NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1 \\
  "$bin/act" push -W "testdata/bench/\$wf" -P ubuntu-latest=-self-hosted \\
  --action-offline-mode --pull=false --no-cache-server --action-cache-path "$work/act-cache" \\
  --secret ALICLOUD_ACCESS_KEY_ID=LTAIDEMOACCESSKEYID0001 \\
  --secret ALICLOUD_ACCESS_KEY_SECRET=demo-secret-NOT-A-REAL-SECRET-0001 \\
  --env EMULATOR_ENDPOINT=$endpoint --env SSL_CERT_FILE=$cert \\
  --env NO_PROXY=127.0.0.1,localhost,::1 --env no_proxy=127.0.0.1,localhost,::1 \\
  --env HTTP_PROXY=\$dead --env HTTPS_PROXY=\$dead --env http_proxy=\$dead --env https_proxy=\$dead \\
  "\${extra[@]}" >"\$log" 2>&1 || { cat "\$log" >&2; exit 1; }
grep -q 'BENCH-IMAGE=m-bp1demowebbase000003' "\$log" || { echo "act-run: wrong image" >&2; cat "\$log" >&2; exit 1; }
grep -q 'Job succeeded' "\$log" || { cat "\$log" >&2; exit 1; }
# "Success - Main resolve [225.0ms]": the whole step; for the action also
# its composite's inner launcher step.
grep -o 'Success - Main resolve \[[^]]*\]' "\$log" | sed 's/.*\[\(.*\)\]/\1/' >>"$work/steps-\$wf-\${how##*/}"
grep -o 'Success - Main bash "\$ALICLOUD_IMAGE_FAMILY_ACTION_PATH/action/launcher.sh" \[[^]]*\]' "\$log" |
  sed 's/.*\[\(.*\)\]/\1/' >>"$work/inner-\$wf-\${how##*/}" || true
rm -f "\$log"
SH
chmod +x "$work/act-run"
"$work/act-run" action.yml "$bin/alicloud-image-family" # first run fills act's caches
"$work/act-run" trivial.yml none
rm -f "$work"/steps-* "$work"/inner-*
# The two workflows run in alternating pairs (the order flipping each time)
# rather than hyperfine's all-of-one-then-the-other: an act run varies by
# tens of ms with the machine's load, and pairing keeps a drift in load out
# of the difference.
: >"$work/act-pairs"
for i in $(seq "$act_runs"); do
  if [ $((i % 2)) = 1 ]; then
    t0=$(date +%s%N); "$work/act-run" action.yml "$bin/alicloud-image-family"
    t1=$(date +%s%N); "$work/act-run" trivial.yml none
    t2=$(date +%s%N)
    echo "$(((t1 - t0) / 1000)) $(((t2 - t1) / 1000))" >>"$work/act-pairs"
  else
    t0=$(date +%s%N); "$work/act-run" trivial.yml none
    t1=$(date +%s%N); "$work/act-run" action.yml "$bin/alicloud-image-family"
    t2=$(date +%s%N)
    echo "$(((t2 - t1) / 1000)) $(((t1 - t0) / 1000))" >>"$work/act-pairs"
  fi
done
# Pairs of microseconds (action trivial) -> means, sds, medians (ms) and the
# paired difference's mean and standard error.
jq -R -s '
  [split("\n")[] | select(length > 0) | split(" ") | map(tonumber / 1000)] as $p
  | ($p | length) as $n
  | def mean: add / length;
    def sd: (mean as $m | (map((. - $m) * (. - $m)) | add) / ((length - 1) | if . < 1 then 1 else . end) | sqrt);
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    ($p | map(.[0])) as $a | ($p | map(.[1])) as $t | ($p | map(.[0] - .[1])) as $d
  | {n: $n, action: {mean: ($a | mean), sd: ($a | sd), median: ($a | median)},
     trivial: {mean: ($t | mean), sd: ($t | sd), median: ($t | median)},
     diff: {mean: ($d | mean), se: (($d | sd) / ($n | sqrt)), median: ($d | median)}}' "$work/act-pairs" >"$work/act.json"
# `uses: ./` at a branch or SHA builds from source (warm Go build cache).
"$work/act-run" action.yml source
rm -f "$work"/steps-action.yml-source "$work"/inner-action.yml-source
hyperfine -N --runs "$act_source_runs" --export-json "$work/act-source.json" \
  -n "action (built from source)" "bash $work/act-run action.yml source" >&2
# Peak memory: the action's process (wrapper) and act's process tree (GNU
# time: the larger of act and its largest child).
act_rss=0
: >"$work/action-rss.log"
for _ in 1 2 3; do
  TIMER="/usr/bin/time -a -o $work/act-rss.log -f %M" "$work/act-run" action.yml "$work/action-rss"
done
act_rss=$(sort -n "$work/act-rss.log" | tail -n1)
action_rss=$(sort -n "$work/action-rss.log" | tail -n1)

# ---- the report ---------------------------------------------------------------
# to_ms "225.036426ms" / "1.2s" / "25.7µs" -> milliseconds
to_ms() {
  case $1 in
    *µs) echo "${1%µs} / 1000" | bc -l ;;
    *ms) echo "${1%ms}" ;;
    *ns) echo "${1%ns} / 1000000" | bc -l ;;
    *s) echo "${1%s} * 1000" | bc -l ;;
  esac
}
mean_ms() { # file of durations -> mean in ms
  local sum=0 n=0 v
  while read -r d; do
    v=$(to_ms "$d")
    sum=$(echo "$sum + $v" | bc -l)
    n=$((n + 1))
  done <"$1"
  [ "$n" -gt 0 ] && echo "$sum / $n" | bc -l || echo 0
}
f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
f3() { printf '%.3f' "$1"; }
ratio() { printf '%.2fx' "$(echo "$1 / $2" | bc -l)"; }
mib() { printf '%.1f MiB' "$(echo "$1 / 1024" | bc -l)"; }       # from KiB
size() { printf '%.1f MiB' "$(echo "$1 / 1048576" | bc -l)"; }  # from bytes
j() { jq -r "$2" "$work/$1"; }

cli_ms=$(j cli.json '.programs[0].mean_ms') cli_sd=$(j cli.json '.programs[0].stddev_ms') cli_med=$(j cli.json '.programs[0].median_ms')
sdk_ms=$(j cli.json '.programs[1].mean_ms') sdk_sd=$(j cli.json '.programs[1].stddev_ms') sdk_med=$(j cli.json '.programs[1].median_ms')
cli_rss=$(j cli.json '.programs[0].rss_kib') sdk_rss=$(j cli.json '.programs[1].rss_kib')
has_ali=$(j cli.json '.programs | length > 2')
ali_note=$(j cli.json .aliyun_note)
h_base=$(j hostile.json '.cli[] | select(.row == "well-formed answer (baseline)") | .max_rss_kib')
h_endless=$(j hostile.json '.cli[] | select(.row == "endless chunked 200 body") | .max_rss_kib')
h_page=$(j hostile.json '.cli[] | select(.row == "64 MiB HTML error page") | .max_rss_kib')
h_page_sdk=$(j hostile.json '.sdkmin[] | select(.row == "64 MiB HTML error page") | .max_rss_kib')
h_worst=$(j hostile.json '[.cli[].max_rss_kib] | max')
ds=$(j packer.json .datasource.mean_s) ds_sd=$(j packer.json .datasource.stddev_s) ds_med=$(j packer.json .datasource.median_s)
lit=$(j packer.json .literal.mean_s) lit_sd=$(j packer.json .literal.stddev_s) lit_med=$(j packer.json .literal.median_s)
plugin_rss=$(j packer.json .plugin_rss_kib) plugin_starts=$(j packer.json .plugin_starts)
packer_ds_rss=$(j packer.json .packer_rss_kib.datasource) packer_lit_rss=$(j packer.json .packer_rss_kib.literal)
packer_version=$(j packer.json .packer_version)
one=$(j fanout.json .one.mean_ms) fall=$(j fanout.json .all.mean_ms) f8=$(j fanout.json .c8.mean_ms)
fan_rss=$(j fanout.json .rss_kib)
act_a=$(j act.json .action.mean) act_a_sd=$(j act.json .action.sd) act_a_med=$(j act.json .action.median)
act_t=$(j act.json .trivial.mean) act_t_sd=$(j act.json .trivial.sd) act_t_med=$(j act.json .trivial.median)
act_d=$(j act.json .diff.mean) act_d_se=$(j act.json .diff.se) act_d_med=$(j act.json .diff.median)
act_s=$(j act-source.json '.results[0].mean*1000') act_s_sd=$(j act-source.json '.results[0].stddev*1000')
step_a=$(mean_ms "$work/steps-action.yml-alicloud-image-family")
step_t=$(mean_ms "$work/steps-trivial.yml-none")
step_s=$(mean_ms "$work/steps-action.yml-source")
inner_a=$(mean_ms "$work/inner-action.yml-alicloud-image-family")
inner_s=$(mean_ms "$work/inner-action.yml-source")
sz_cli=$(stat -c %s "$bin/alicloud-image-family") sz_plugin=$(stat -c %s "$bin/packer-plugin-alicloud-image-family") sz_sdk=$(stat -c %s "$bin/sdkmin")
elapsed=$(($(date +%s) - $(cat "$work/started")))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
mem_avail=$(awk '/^MemAvailable/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
if [ "$has_ali" = true ]; then
  ali_ms=$(j cli.json '.programs[2].mean_ms') ali_sd=$(j cli.json '.programs[2].stddev_ms') ali_rss=$(j cli.json '.programs[2].rss_kib')
  ali_row="| CLI vs aliyun CLI, wall time | $(ratio "$cli_ms" "$ali_ms") | $(f1 "$cli_ms") ms vs $(f1 "$ali_ms") ms |
| CLI vs aliyun CLI, peak memory | $(ratio "$cli_rss" "$ali_rss") | $(mib "$cli_rss") vs $(mib "$ali_rss") |"
else
  ali_row="| CLI vs aliyun CLI | skipped | $ali_note |"
fi

{
  cat <<EOF
# Benchmarks

Generated by \`scripts/bench.sh\` (\`make bench\`) in one run on one machine,
$(date -u +%Y-%m-%d); every comparison ran side by side in that run. Ratios
come first, absolute numbers beside them. Rerun it to check any number here;
on a shared or loaded machine absolute times move, ratios much less.

**Machine:** $(nproc) cores ($cpu), $mem_total memory ($mem_avail available at the end),
$(cat "$work/goversion"), $(uname -sr), $packer_version, act v0.2.89.
**Load average at start:** $(cat "$work/load_start") (1, 5, 15 min); at the end: $load_end.
The machine is shared with other work, so some noise is expected: compare ratios and medians.
Run time of the script: $((elapsed / 60)) min $((elapsed % 60)) s.
Network: every request goes to an emulator on loopback (TLS, signatures verified);
$(if [ "$netns" = yes ]; then echo "the measurements ran in a loopback-only network namespace"; else echo "no network namespace was available, but nothing was configured with a non-loopback address and act ran with its proxies pointed at a closed loopback port"; fi).

## Headline

| comparison | ratio | absolute |
|---|---|---|
| CLI vs smallest SDK program, wall time (mean) | $(ratio "$cli_ms" "$sdk_ms") | $(f1 "$cli_ms") ms vs $(f1 "$sdk_ms") ms (medians $(f1 "$cli_med") vs $(f1 "$sdk_med")) |
| CLI vs smallest SDK program, peak memory | $(ratio "$cli_rss" "$sdk_rss") | $(mib "$cli_rss") vs $(mib "$sdk_rss") |
$ali_row
| CLI peak memory, endless 200 body vs a normal lookup | $(ratio "$h_endless" "$h_base") | $(mib "$h_endless") vs $(mib "$h_base"); the largest of every hostile row $(mib "$h_worst") |
| 64 MiB error page: CLI vs the SDK alone (sdkmin), peak memory | $(ratio "$h_page" "$h_page_sdk") | $(mib "$h_page") vs $(mib "$h_page_sdk") |
| \`packer build\` with the data source vs a literal image id (mean) | $(ratio "$ds" "$lit") | $(f3 "$ds") s vs $(f3 "$lit") s ($(printf '%+.3f' "$(echo "$ds - $lit" | bc -l)") s; medians $(printf '%+.3f' "$(echo "$ds_med - $lit_med" | bc -l)") s) |
| act job with the action step vs a one-line step (medians of $act_runs alternating pairs) | $(ratio "$act_a_med" "$act_t_med") | $(f1 "$act_a_med") ms vs $(f1 "$act_t_med") ms (paired difference $(printf '%+.0f' "$act_d") ms ± $(f1 "$act_d_se") s.e.) |
| the action step itself vs the one-line step (act's step times) | $(ratio "$step_a" "$step_t") | $(f1 "$step_a") ms vs $(f1 "$step_t") ms ($(printf '%+.0f' "$(echo "$step_a - $step_t" | bc -l)") ms) |
| 30 regions vs 1 region, 100 ms latency, default settings (every region at once) | $(ratio "$fall" "$one") | $(f1 "$fall") ms vs $(f1 "$one") ms (the sum of 30 calls would be over 3000 ms) |
| 30 regions vs 1 region, 100 ms latency, \`--concurrency 8\` (the former default) | $(ratio "$f8" "$one") | $(f1 "$f8") ms vs $(f1 "$one") ms (4 waves of at most 8) |

## CLI vs the smallest SDK program$([ "$has_ali" = true ] && echo " and the aliyun CLI")

One \`resolve\` against the emulator (TLS, loopback) vs \`bench/sdkmin\`, the
smallest Go program making the same signed DescribeImageFromFamily call with
the SDK (no validation, retries, credential chain or error mapping).
Wall time from hyperfine ($cli_runs runs each after 5 warm-ups, no shell),
peak memory is the max RSS of 10 runs from GNU time. (\`scripts/bench-cli.sh\`)

$(cat "$work/cli.md" | sed '/^Machine:/d')

## The data source inside \`packer build\`

The same null-builder template built with the data source resolving the
image id against the emulator, and with the id written as a literal
($packer_runs runs each after 3 warm-ups). The difference is the whole cost
of the data source: starting the plugin process, Configure, the signed
lookup, Execute. (\`scripts/bench-packer.sh\`)

$(cat "$work/packer.md" | sed '/^Machine:/d')

## The action step under act

act v0.2.89 in host mode (\`-P ubuntu-latest=-self-hosted\`, offline, no
cache server) runs \`testdata/bench/action.yml\` (checkout, \`uses: ./\`
resolving one image against the emulator, a step using the output) and
\`testdata/bench/trivial.yml\` (the same job with the output set by a
one-line \`run:\` step). "Prebuilt binary" gives the launcher the release-built
binary (\`ALICLOUD_IMAGE_FAMILY_BIN\`), as a release tag does after its
download (tool cache); "built from source" is what \`uses: ./\` or a branch
ref does: \`go build\` with a warm build cache.

| | action / trivial | action (prebuilt binary) | trivial step | action (built from source) |
|---|---|---|---|---|
| act run wall time (mean ± sd; $act_runs alternating pairs, $act_source_runs runs from source) | $(ratio "$act_a" "$act_t") | $(f1 "$act_a") ms ± $(f1 "$act_a_sd") | $(f1 "$act_t") ms ± $(f1 "$act_t_sd") | $(f1 "$act_s") ms ± $(f1 "$act_s_sd") |
| act run wall time (median) | $(ratio "$act_a_med" "$act_t_med") | $(f1 "$act_a_med") ms | $(f1 "$act_t_med") ms | |
| paired difference, action minus trivial (mean ± standard error; median) | | $(printf '%+.1f' "$act_d") ms ± $(f1 "$act_d_se"); $(printf '%+.1f' "$act_d_med") ms | | |
| the step (act's "Main resolve" time, mean) | $(ratio "$step_a" "$step_t") | $(f1 "$step_a") ms | $(f1 "$step_t") ms | $(f1 "$step_s") ms |
| inside it: the launcher and the binary (composite's inner step) | | $(f1 "$inner_a") ms | | $(f1 "$inner_s") ms |

Peak memory: the action's own process $(mib "$action_rss") (GNU time through
\`ALICLOUD_IMAGE_FAMILY_BIN\`, max of 3 runs); act's process tree
$(mib "$act_rss") (GNU time on act: the larger of act and its largest child).

## Fan-out over many regions

\`alicloud-image-family resolve --region bench-region-1,...,bench-region-30\`
against an emulator (TLS) with a fixture of 30 regions and
\`--latency 100ms\` on every request, vs the same with one region
($fanout_runs runs each after 2 warm-ups). One client per region, credentials
resolved once. (\`scripts/bench-fanout.sh\`)

$(cat "$work/fanout.md" | sed '/^Machine:/d')

## Memory against a hostile endpoint

The CLI's peak memory (max RSS, from the kernel at exit) while an endpoint
misbehaves (rows of the hostile-endpoint table, \`ecstest.HostileRows\`, each
on a fresh TLS server on loopback) vs the same lookup against a well-formed
answer, $hostile_runs runs per row. The core reads at most 1 MiB of any answer
and then closes the connection, so memory does not grow with what the endpoint
sends. The last column is \`bench/sdkmin\`, the SDK with no trust
boundary, against the rows whose body ends by itself: it reads every body
whole. (\`scripts/bench-hostile.sh\`, \`TestHostileMemory\`)

$(cat "$work/hostile.md" | sed '/^Machine:/d')

## Peak memory of each binary

| binary | what ran | peak RSS | how |
|---|---|---|---|
| \`alicloud-image-family\` | \`resolve\`, one region | $(mib "$cli_rss") | GNU time, max of 10 |
| \`alicloud-image-family\` | \`resolve\`, 30 regions at once (default settings) | $(mib "$fan_rss") | GNU time, max of 3 |
| \`alicloud-image-family\` | \`resolve\` against an endless 200 body (refused) | $(mib "$h_endless") | wait4 max RSS, max of $hostile_runs |
| \`alicloud-image-family\` | \`action\` step under act | $(mib "$action_rss") | GNU time wrapper as \`ALICLOUD_IMAGE_FAMILY_BIN\`, max of 3 |
| \`packer-plugin-alicloud-image-family\` | the data source during \`packer build\` | $(mib "$plugin_rss") | VmHWM sampled from /proc every 20 ms by a wrapper installed as the plugin ($plugin_starts starts in 5 builds); Packer ends plugins with SIGKILL, so GNU time cannot report them |
| \`packer\` | \`packer build\` with / without the data source | $(mib "$packer_ds_rss") / $(mib "$packer_lit_rss") | GNU time: the larger of Packer and its largest child, max of 5 |
| \`act\` | the action workflow | $(mib "$act_rss") | GNU time: the larger of act and its largest child, max of 3 |
| \`sdkmin\` | the same call | $(mib "$sdk_rss") | GNU time, max of 10 |

## Binary sizes

Built as releases are (\`go build -trimpath -ldflags '-s -w'\`, linux/$(go env GOARCH)).

| binary | size | ratio to sdkmin |
|---|---|---|
| \`alicloud-image-family\` (CLI, action, emulator) | $(size "$sz_cli") | $(ratio "$sz_cli" "$sz_sdk") |
| \`packer-plugin-alicloud-image-family\` | $(size "$sz_plugin") | $(ratio "$sz_plugin" "$sz_sdk") |
| \`sdkmin\` | $(size "$sz_sdk") | 1.00x |
EOF
} >"$out"
echo "bench: wrote $out in $((elapsed / 60)) min $((elapsed % 60)) s" >&2
if [ "$packer_rc" != 0 ]; then
  echo "bench: the data source missed its target (see $out)" >&2
  exit "$packer_rc"
fi
