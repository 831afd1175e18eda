#!/usr/bin/env bash
# Runs the GitHub Action's end-to-end tests: the launcher against a loopback
# release server, and the workflows in testdata/workflows under act v0.2.89
# (host mode) against the ECS/STS emulator, in a loopback-only network
# namespace when the machine allows it. CI=1 makes a missing act a failure.
#
# Usage: scripts/act-e2e.sh [go test flags, such as -v or -run TestActOIDC]
set -euo pipefail
cd "$(dirname "$0")/.."
export CI_TOOLS_BIN
CI_TOOLS_BIN=$(bash scripts/tools.sh act | tail -n 1)
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
# Compile while the network is there; the tests themselves need none.
go test -count=1 -run '^$' ./test/action/ >/dev/null
exec bash scripts/in-netns.sh go test -count=1 -timeout 20m "$@" ./test/action/
