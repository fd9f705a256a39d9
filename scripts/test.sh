#!/usr/bin/env bash
# Every test: installs what is missing, type-checks, then runs unit and integration tests
# with node's test runner (integration tests start their own ZooKeeper and HAProxy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json --noEmit
# The multi-host demo tests run ~30 processes each (14 hosts): they run after the others, one
# at a time, so that neither they nor the other files' bounded waits starve.
mapfile -t files < <(find test/unit test/integration -name '*.test.ts' ! -name 'demo-hosts*' | sort)
mapfile -t heavy < <(find test/integration -name 'demo-hosts*.test.ts' | sort)
rc=0
node --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}" || rc=$?
node --import tsx --test --test-concurrency=1 --test-timeout=180000 "${heavy[@]}" || rc=$((rc ? rc : $?))
exit "$rc"
