#!/usr/bin/env bash
# Builds the real clients the end-to-end tests drive (Packer, act, GoReleaser,
# and the official Alibaba Cloud Packer plugin packer-plugin-alicloud, whose
# alicloud-ecs builder runs against our emulator)
# from the Go module proxy, at exact versions, and caches the binaries outside
# the repository so later runs reuse them. The proxy here refuses version lists,
# so `go install pkg@version` cannot be used; we build from the module directory.
#
# Usage: scripts/tools.sh [packer|act|goreleaser|packer-plugin-alicloud ...]
# (default: all; "alicloud" is short for packer-plugin-alicloud)
# Prints nothing on success except build notes on stderr; the binaries land in
# $TOOLS_BIN (default $HOME/.cache/alicloud-image-family/tools/bin).
set -euo pipefail

PACKER_VERSION=${PACKER_VERSION:-v1.15.1}
ACT_VERSION=${ACT_VERSION:-v0.2.89}
GORELEASER_VERSION=${GORELEASER_VERSION:-v2.15.1}
ALICLOUD_PLUGIN_VERSION=${ALICLOUD_PLUGIN_VERSION:-v1.1.2}

cache=${TOOLS_CACHE:-$HOME/.cache/alicloud-image-family/tools}
bin=${TOOLS_BIN:-$cache/bin}
mkdir -p "$cache" "$bin"

# build NAME MODULE VERSION [PACKAGE-DIR]
build() {
  local name=$1 mod=$2 ver=$3 pkg=${4:-.}
  local out="$cache/$name-$ver"
  if [ -x "$out" ]; then
    ln -sf "$out" "$bin/$name"
    return
  fi
  echo "tools: building $name $ver (first time only; cached in $cache)" >&2
  local dir src
  dir=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "$mod@$ver" | jq -r .Dir)
  src=$(mktemp -d)
  cp -r "$dir/." "$src/"
  chmod -R u+w "$src"
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  rm -rf "$src"
  ln -sf "$out" "$bin/$name"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(packer act goreleaser packer-plugin-alicloud)
for t in "${want[@]}"; do
  case "$t" in
    packer) build packer github.com/hashicorp/packer "$PACKER_VERSION" ;;
    act) build act github.com/nektos/act "$ACT_VERSION" ;;
    goreleaser) build goreleaser github.com/goreleaser/goreleaser/v2 "$GORELEASER_VERSION" ;;
    # Installed into Packer by the tests with `packer plugins install --path`,
    # which names it packer-plugin-alicloud_v1.1.2_x5.0_<os>_<arch> itself.
    alicloud | packer-plugin-alicloud) build packer-plugin-alicloud github.com/hashicorp/packer-plugin-alicloud "$ALICLOUD_PLUGIN_VERSION" ;;
    *) echo "tools: unknown tool $t" >&2; exit 2 ;;
  esac
done
echo "$bin"
