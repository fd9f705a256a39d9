#!/bin/sh
# Node metadata arrives as environment variables: $name is the node, $ranks its ranks.
echo "$name (${ranks:-no ranks}): $(uptime)"
