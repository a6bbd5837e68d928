#!/bin/sh
# bench/processes.sh -- child processes (issue #7): 100 concurrent
# run{"true"} and a 1 GiB round trip through cat, against Python
# eventlet's green subprocess, a plain shell pipeline and, for the spawns,
# the same children started and reaped by plain C (bench/c/spawnfloor.c:
# the kernel's limit).  Wall time:
# the children's work is outside any one process's CPU clock.
# Prints table rows (see bench/lib.sh); run alone or through bench/run.sh.
. "$(dirname "$0")/lib.sh"

ours="$BENCH_HOST bench/processes/eventlet_lua.lua"
peer="$BENCH_PY bench/processes/peer.py"
nruns=100
bytes=$(bench_n 1073741824)
floor="$BENCH_TMP/spawnfloor"
cc -O2 -o "$floor" bench/c/spawnfloor.c || { echo "processes: cannot build spawnfloor" >&2; exit 1; }

echo "processes: measuring (eventlet-lua x$BENCH_RUNS, peers x$BENCH_PEER_RUNS)" >&2
bench_measure runs.ours "$BENCH_RUNS" $ours runs "$nruns"
bench_measure runs.c "$BENCH_RUNS" "$floor" "$nruns"
bench_measure cat.ours "$BENCH_RUNS" $ours cat "$bytes"
bench_measure cat.shell "$BENCH_RUNS" $peer shell cat "$bytes"
if bench_have_py eventlet; then
  bench_measure runs.eventlet "$BENCH_PEER_RUNS" $peer eventlet runs "$nruns"
  bench_measure cat.eventlet "$BENCH_PEER_RUNS" $peer eventlet cat "$bytes"
fi

bench_row "$nruns concurrent run{\"true\"}" "$(bench_get runs.ours wall)" "python eventlet" \
  "$(bench_get runs.eventlet wall)" s faster 5
bench_row "$nruns concurrent run{\"true\"}" "$(bench_get runs.ours wall)" "C posix_spawn (limit)" \
  "$(bench_get runs.c wall)" s within
mib=$((bytes / 1048576))
bench_row "$mib MiB through cat and back" "$(bench_get cat.ours wall)" "shell pipeline" \
  "$(bench_get cat.shell wall)" s within 1.25
bench_row "$mib MiB through cat and back" "$(bench_get cat.ours wall)" "python eventlet" \
  "$(bench_get cat.eventlet wall)" s faster
