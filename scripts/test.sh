#!/usr/bin/env bash
# Every test: installs what is missing, type-checks, then runs unit, integration and fault
# tests with node's test runner (integration and fault tests start their own ZooKeeper and
# HAProxy; the fault scenarios alone: scripts/test-faults.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json --noEmit
mapfile -t files < <(find test/unit test/integration test/faults -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
