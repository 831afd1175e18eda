#!/usr/bin/env bash
# Starts `alicloud-image-family action` for the composite action in action.yml.
#
# On a release tag (uses: ...@v1.2.3, or a floating tag such as @v1 whose
# commit carries a release version) it runs the prebuilt binary for the
# runner's OS and architecture: downloaded from the release, checked against
# the release's SHA256SUMS file and kept in the runner's tool cache, so the
# next job on a persistent runner skips the download. Nothing is compiled.
# Anywhere else (a branch, a commit SHA, `uses: ./`) there is no release to
# download, so it builds from the action's source with the runner's Go, and
# says so.
#
# Runs under bash on Linux, macOS and Windows (Git Bash) runners.
#
# Environment (set by action.yml; the INPUT_* variables go to the binary):
#   ALICLOUD_IMAGE_FAMILY_ACTION_PATH        the action's directory (github.action_path)
#   ALICLOUD_IMAGE_FAMILY_ACTION_REF         the ref it was used at (github.action_ref)
#   ALICLOUD_IMAGE_FAMILY_ACTION_REPOSITORY  owner/name it was used from
# Overrides:
#   ALICLOUD_IMAGE_FAMILY_RELEASES_URL  base URL of release downloads, instead of
#                                       https://github.com/<repository>/releases/download
#                                       (mirrors, GHES, tests); assets are read from
#                                       <base>/v<version>/<asset>
#   ALICLOUD_IMAGE_FAMILY_BIN           run this binary; no download, no build
#   ALICLOUD_IMAGE_FAMILY_BUILD_PACKAGE package to build from source
#                                       (default ./cmd/alicloud-image-family)
set -euo pipefail

name=alicloud-image-family
log() { printf '%s\n' "$*"; }
fail() {
  # An annotation, so the reason shows on the run's summary page.
  printf '::error title=alicloud-image-family action::%s\n' "$*"
  exit 1
}

action_path=${ALICLOUD_IMAGE_FAMILY_ACTION_PATH:-${GITHUB_ACTION_PATH:-}}
if [ -z "$action_path" ]; then
  action_path=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
ref=${ALICLOUD_IMAGE_FAMILY_ACTION_REF:-${GITHUB_ACTION_REF:-}}
repository=${ALICLOUD_IMAGE_FAMILY_ACTION_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}
repository=${repository:-imagefamily/packer-plugin-alicloud-image-family}

# --- platform -------------------------------------------------------------
case "${RUNNER_OS:-$(uname -s)}" in
  Linux | linux) os=linux ;;
  macOS | Darwin) os=darwin ;;
  Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
  *) fail "unsupported runner OS ${RUNNER_OS:-$(uname -s)}; Linux, macOS and Windows are supported" ;;
esac
case "${RUNNER_ARCH:-$(uname -m)}" in
  X64 | x86_64 | amd64 | AMD64) arch=amd64 ;;
  ARM64 | arm64 | aarch64) arch=arm64 ;;
  *) fail "unsupported runner architecture ${RUNNER_ARCH:-$(uname -m)}; x64 and arm64 are supported" ;;
esac
exe=""
archive_ext=tar.gz
if [ "$os" = windows ]; then
  exe=.exe
  archive_ext=zip
fi
temp_root=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
tool_cache=${RUNNER_TOOL_CACHE:-$temp_root}
# Windows runners give native paths (D:\a\_temp); Git Bash's tools take
# them, but the POSIX form avoids surprises such as GNU tar reading "D:" as
# a remote host.
if command -v cygpath >/dev/null 2>&1; then
  action_path=$(cygpath -u "$action_path")
  temp_root=$(cygpath -u "$temp_root")
  tool_cache=$(cygpath -u "$tool_cache")
fi

# --- which version, if any, has a prebuilt binary ---------------------------
# release_version prints the release version for the ref, or nothing when the
# ref is not a release tag. A full tag (v1.2.3, v1.2.3-rc.1) names it; a
# floating tag (v1, v1.2) points at a release commit, whose version/version.go
# carries the released version with an empty Prerelease.
release_version() {
  local r=$1
  if [[ "$r" =~ ^v([0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?)$ ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
    return
  fi
  if [[ "$r" =~ ^v([0-9]+(\.[0-9]+)?)$ ]]; then
    local prefix=${BASH_REMATCH[1]} vf="$action_path/version/version.go" v pre
    [ -f "$vf" ] || return 0
    v=$(sed -n 's/^var Version = "\([^"]*\)".*/\1/p' "$vf")
    pre=$(sed -n 's/^var Prerelease = "\([^"]*\)".*/\1/p' "$vf")
    if [ -n "$v" ] && [ -z "$pre" ] && [[ "$v" == "$prefix".* || "$v" == "$prefix" ]]; then
      printf '%s' "$v"
    fi
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | awk '{print $1}'
  else
    return 1
  fi
}

download() { # URL FILE
  # An explicit override may be plain http (a loopback test server, an
  # internal mirror); the default is GitHub and https only. (No arrays: an
  # empty one trips `set -u` in macOS's bash 3.2.)
  local proto='=https'
  [ -n "${ALICLOUD_IMAGE_FAMILY_RELEASES_URL:-}" ] && proto='=https,http'
  curl -fsSL --proto "$proto" --retry 3 --retry-delay 2 --connect-timeout 20 -o "$2" "$1"
}

extract() { # ARCHIVE DIR
  if [ "$archive_ext" = zip ]; then
    if command -v unzip >/dev/null 2>&1; then
      unzip -q -o "$1" -d "$2"
    else
      powershell -NoProfile -NonInteractive -Command \
        "Expand-Archive -LiteralPath '$1' -DestinationPath '$2' -Force"
    fi
  else
    tar -xzf "$1" -C "$2"
  fi
}

# install_release VERSION: sets bin to the verified binary. (A global, not
# command substitution: fail must reach the log, not a captured string.)
install_release() {
  local version=$1
  # The tool cache layout of actions/tool-cache: <tool>/<version>/<arch> and
  # a <arch>.complete marker written last, so a half-written copy is never
  # used.
  local tool_arch=x64
  [ "$arch" = arm64 ] && tool_arch=arm64
  local dir="$tool_cache/$name/$version/$tool_arch"
  bin="$dir/$name$exe"
  if [ -f "$dir.complete" ] && [ -x "$bin" ]; then
    log "Using $name $version from the tool cache ($dir)"
    return
  fi

  local asset="${name}_${version}_${os}_${arch}.${archive_ext}"
  local sums="${name}_${version}_SHA256SUMS"
  local base=${ALICLOUD_IMAGE_FAMILY_RELEASES_URL:-https://github.com/$repository/releases/download}
  base="${base%/}/v$version"
  local work
  work=$(mktemp -d "$temp_root/$name-dl.XXXXXX")
  log "Downloading $name $version for $os/$arch from $base/$asset"
  download "$base/$sums" "$work/$sums" || fail "could not download $base/$sums; is v$version a release of $repository?"
  download "$base/$asset" "$work/$asset" || fail "could not download $base/$asset; the release may not have a binary for $os/$arch"

  local want got
  want=$(awk -v f="$asset" '$2 == f || $2 == "*" f {print tolower($1); exit}' "$work/$sums")
  [ -n "$want" ] || fail "$sums has no checksum for $asset; refusing to run an unverified binary"
  got=$(sha256 "$work/$asset") || fail "no SHA-256 tool found (sha256sum, shasum or openssl)"
  got=$(printf '%s' "$got" | tr 'A-F' 'a-f')
  if [ "$got" != "$want" ]; then
    fail "checksum mismatch for $asset: $sums says $want, the download is $got; refusing to run it"
  fi
  log "Verified $asset (sha256 $got)"

  mkdir -p "$work/x"
  extract "$work/$asset" "$work/x" || fail "could not unpack $asset"
  local found
  found=$(find "$work/x" -type f -name "$name$exe" | head -n 1)
  [ -n "$found" ] || fail "$asset does not contain $name$exe"

  rm -rf "$dir" "$dir.complete"
  mkdir -p "$dir"
  cp "$found" "$bin"
  chmod +x "$bin"
  touch "$dir.complete"
  rm -rf "$work"
}

build_from_source() {
  local pkg=${ALICLOUD_IMAGE_FAMILY_BUILD_PACKAGE:-./cmd/$name}
  local why="ref '${ref}' is not a release tag"
  [ -z "$ref" ] && why="the action is used from a local path or its ref is unknown"
  if ! command -v go >/dev/null 2>&1; then
    fail "building $name from source because $why, but Go is not installed on this runner. Use a release tag (uses: $repository@v1) to run the prebuilt binary, or add actions/setup-go before this step"
  fi
  local out_dir="$temp_root/$name-src"
  mkdir -p "$out_dir"
  bin="$out_dir/$name$exe"
  log "Building $name from source with $(go version | awk '{print $3}') because $why (a release tag such as @v1 runs a prebuilt binary instead)"
  (cd "$action_path" && CGO_ENABLED=0 go build -trimpath -o "$bin" "$pkg") ||
    fail "go build of $pkg in $action_path failed"
}

if [ -n "${ALICLOUD_IMAGE_FAMILY_BIN:-}" ]; then
  bin=$ALICLOUD_IMAGE_FAMILY_BIN
  log "Using $bin (ALICLOUD_IMAGE_FAMILY_BIN)"
else
  version=$(release_version "$ref")
  if [ -n "$version" ]; then
    install_release "$version"
  else
    build_from_source
  fi
fi

exec "$bin" action
