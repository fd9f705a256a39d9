#!/usr/bin/env bash
# The main job: a local demo of ZooKeeper + HAProxy + writer + reporter + sample services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx scripts/demo.ts "$@"
