#!/bin/sh
# The aws rank's variant: the same restart, and the instance it ran on (node.yaml metadata
# ec2_id and aws_region reach the script as $ec2_id and $aws_region).
set -eu
unit="${1:?usage: service-restart -- UNIT}"
case "$unit" in -*|*/*) echo "not a unit name: $unit" >&2; exit 2 ;; esac
echo "restarting $unit on $name (EC2 instance ${ec2_id:?node.yaml metadata ec2_id is not set} in ${aws_region:-its region})"
systemctl restart -- "$unit"
systemctl --no-pager status -- "$unit" | head -n 3
