#!/usr/bin/env bash
# Every test: installs what is missing, type-checks, then runs unit and integration tests
# with node's test runner (integration tests start their own ZooKeeper and HAProxy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.json --noEmit
mapfile -t files < <(find test/unit test/integration -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
