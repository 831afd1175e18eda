#!/usr/bin/env bash
# Runs a command in a network namespace that has only loopback, so a test
# that tries to reach anything else (the real ECS or STS, the metadata
# address 100.100.100.200, a package registry) fails instead of leaving the
# machine. Needs root (CI runs as root); elsewhere it says so and runs the
# command as it is.
set -euo pipefail
if [ "${NO_NETNS:-}" != "1" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare --net true 2>/dev/null; then
  echo "in-netns: running in a loopback-only network namespace" >&2
  exec unshare --net -- bash -c 'ip link set lo up 2>/dev/null || true; exec "$@"' in-netns "$@"
fi
echo "in-netns: no network namespace here (not root, or unshare not allowed); running with the normal network" >&2
exec "$@"
