#!/bin/sh
# The aws rank's variant: says which EC2 instance it runs on (node.yaml metadata ec2_id and
# aws_region reach the script as $ec2_id and $aws_region), then does what default.sh does.
set -eu
echo "EC2 instance ${ec2_id:?node.yaml metadata ec2_id is not set} in ${aws_region:-its region}"
exec "$(dirname "$0")/default.sh" "$@"
