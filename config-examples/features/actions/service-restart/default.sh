#!/bin/sh
set -eu
unit="${1:?usage: service-restart -- UNIT}"
# only unit names: a leading dash would be read as an option by systemctl
case "$unit" in -*|*/*) echo "not a unit name: $unit" >&2; exit 2 ;; esac
echo "restarting $unit on $name"
systemctl restart -- "$unit"
systemctl --no-pager status -- "$unit" | head -n 3
