#!/bin/sh
# make under a lock, so several people (or agents) building in one tree
# never interleave compiler runs over the same objects.
cd "$(dirname "$0")/.." && exec flock /tmp/eventlet-lua.build.lock make "$@"
