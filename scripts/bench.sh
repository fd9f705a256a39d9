#!/usr/bin/env bash
# Every benchmark in bench/ (bench/lib.ts is shared code, not one), one after the other, each
# printing its figures. Each starts and stops its own ZooKeeper / HAProxy / backends in temp
# dirs. Benchmarks print figures and assert nothing timed: a goal missed is not a failure; a
# benchmark that crashes is (listed at the end, exit 1).
#   bash scripts/bench.sh                       # all of them (~15 min on 2 cores)
#   bash scripts/bench.sh bench/zero-loss.ts    # some of them
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh || exit 1

if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(ls bench/*.ts | grep -v -e '/lib\.ts$' -e '/_' | sort); fi
failed=()
total=$SECONDS
for f in "${files[@]}"; do
  echo
  echo "=== $f"
  start=$SECONDS
  node --import tsx "$f" || failed+=("$f")
  echo "--- $f: $((SECONDS - start)) s"
done
echo
echo "benchmarks: ${#files[@]} in $((SECONDS - total)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "did not complete: ${failed[*]}" >&2
  exit 1
fi
