#!/usr/bin/env bash
# Every test: installs what is missing, type-checks, then runs unit, integration and fault
# tests with node's test runner (integration and fault tests start their own ZooKeeper and
# HAProxy; the fault scenarios alone: scripts/test-faults.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json --noEmit
# The multi-host demo tests run ~30 processes each (14 hosts): they run after the others, one
# at a time, so that neither they nor the other files' bounded waits starve.
mapfile -t files < <(find test/unit test/integration test/faults -name '*.test.ts' ! -name 'demo-hosts*' | sort)
mapfile -t heavy < <(find test/integration -name 'demo-hosts*.test.ts' | sort)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
node --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}" | tee "$out" || rc=$?
node --import tsx --test --test-concurrency=1 --test-timeout=180000 "${heavy[@]}" | tee -a "$out" || rc=$((rc ? rc : $?))
# one closing line for both runs
pass=$(awk '/^# pass /{s+=$3} END{print s+0}' "$out")
fail=$(awk '/^# fail /{s+=$3} END{print s+0}' "$out")
echo "tests: $pass passed, $fail failed"
exit "$rc"
