#!/bin/sh
# bench/soak/run.sh -- every soak scenario in turn (loopback only, each
# bounded in time and count); figures go to stdout.  Environment knobs
# are listed at the top of each scenario script.
cd "$(dirname "$0")/../.." || exit 1
for s in keepalive concurrency fd_exhaustion sigkill; do
  echo "== $s"
  timeout -k 10 900 sh "bench/soak/$s.sh"
done
echo "== green_kill"
(ulimit -n "$(ulimit -Hn)"; timeout -k 10 900 ./eventlet-lua bench/soak/green_kill.lua)
