#!/usr/bin/env bash
# The fault scenarios (test/faults/): real ZooKeeper, HAProxy and the built daemons, broken on
# purpose under continuous traffic; each prints one line (requests sent / failed, reloads,
# time to converge). Extra arguments go to node's test runner (e.g. a single file).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test/faults -name '*.test.ts' | sort); fi
exec node --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
