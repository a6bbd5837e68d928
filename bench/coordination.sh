#!/bin/sh
# bench/coordination.sh -- coordination primitives (issue #3): Queue
# ping-pong, Event hand-off, uncontended Semaphore, GreenPool; against
# bare Lua coroutines, Python eventlet and gevent.
# Prints table rows (see bench/lib.sh); run alone or through bench/run.sh.
. "$(dirname "$0")/lib.sh"

ours="$BENCH_HOST bench/coordination/eventlet_lua.lua"

echo "coordination: measuring (eventlet-lua x$BENCH_RUNS, peers x$BENCH_PEER_RUNS)" >&2
np=$(bench_n 1000000)
bench_measure pingpong.ours "$BENCH_RUNS" $ours pingpong "$np"
bench_measure switch.bare "$BENCH_RUNS" $BENCH_LUA bench/core/bare.lua switch "$(bench_n 2000000)"
# The floor the core allows: bare park/unpark, and a minimal FIFO queue.
bench_measure handoff.floor "$BENCH_RUNS" $ours floor_handoff "$np"
bench_measure pingpong.floor "$BENCH_RUNS" $ours floor_queue "$np"
bench_measure event.ours "$BENCH_RUNS" $ours event "$(bench_n 1000000)"
bench_measure semaphore.ours "$BENCH_RUNS" $ours semaphore "$(bench_n 3000000)"
bench_measure pool.ours "$BENCH_RUNS" $ours pool "$(bench_n 100000)"
# The same, fed from the host's main chunk (not yieldable: nested loops).
bench_measure pool.main "$BENCH_RUNS" env BENCH_MAIN_CHUNK=1 $ours pool "$(bench_n 100000)"
# The peers are 10-100x slower per operation: fewer iterations, same unit.
bench_peers bench/coordination/peer.py pingpong:"$(bench_n 200000)" event:"$(bench_n 100000)" \
  semaphore:"$(bench_n 1000000)" pool:"$(bench_n 100000)"

s=$(bench_get pingpong.ours ns)
name="Queue ping-pong ($np msgs)"
bench_row "$name" "$s" "bare resume/yield" "$(bench_get switch.bare ns)" ns within 4
bench_row "$name" "$s" "python eventlet" "$(bench_get pingpong.eventlet ns)" ns faster 15
bench_row "$name" "$s" "gevent" "$(bench_get pingpong.gevent ns)" ns faster
bench_row "  floor: minimal FIFO on park/unpark" "$(bench_get pingpong.floor ns)" "bare resume/yield" \
  "$(bench_get switch.bare ns)" ns within
bench_row "  floor: minimal FIFO on park/unpark" "$(bench_get pingpong.floor ns)" "python eventlet" \
  "$(bench_get pingpong.eventlet ns)" ns faster
bench_row "  floor: bare park/unpark hand-off" "$(bench_get handoff.floor ns)" "bare resume/yield" \
  "$(bench_get switch.bare ns)" ns within
bench_limit "Queue ping-pong: allocated" "$(bench_get pingpong.ours bytes)" B 1 "per message, GC stopped"

s=$(bench_get event.ours ns)
bench_row "Event hand-off" "$s" "python eventlet" "$(bench_get event.eventlet ns)" ns faster
bench_row "Event hand-off" "$s" "gevent" "$(bench_get event.gevent ns)" ns faster
bench_info "Event hand-off: allocated" "$(bench_get event.ours bytes)" B "per hand-off, GC stopped"

s=$(bench_get semaphore.ours ns)
bench_row "Semaphore acquire+release" "$s" "python eventlet" "$(bench_get semaphore.eventlet ns)" ns faster
bench_row "Semaphore acquire+release" "$s" "gevent" "$(bench_get semaphore.gevent ns)" ns faster
bench_info "Semaphore: allocated" "$(bench_get semaphore.ours bytes)" B "per pair, GC stopped"

s=$(bench_get pool.ours ns)
name="GreenPool spawn+waitall ($(bench_n 100000) jobs)"
bench_row "$name" "$s" "python eventlet" "$(bench_get pool.eventlet ns)" ns faster
bench_row "$name" "$s" "gevent" "$(bench_get pool.gevent ns)" ns faster
bench_row "GreenPool, fed from the main chunk" "$(bench_get pool.main ns)" "same, in a green thread" \
  "$s" ns within
bench_info "GreenPool: allocated" "$(bench_get pool.ours bytes)" B "per job, GC stopped"
