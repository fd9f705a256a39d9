#!/usr/bin/env bash
# Installs what the project needs when it is missing: HAProxy and ZooKeeper from Debian's
# packages (as root on Debian/Ubuntu; Chromium for the dashboard test), npm packages from the
# lockfile. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)
[ -f /usr/share/java/zookeeper.jar ] || need_apt+=(zookeeper)
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium) # the dashboard test drives it (playwright-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need_apt[*]} from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]} (install them with your package manager, or run as root on Debian/Ubuntu)" >&2
    exit 1
  fi
fi

# npm ci only when the installed tree does not match the lockfile
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.lighthouse-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.lighthouse-lock
fi
[ -f dist/cli/lighthouse-reporter.js ] && [ -z "$(find src templates -newer dist/.built 2>/dev/null | head -1)" ] || {
  npx tsc -p tsconfig.build.json && touch dist/.built
}
