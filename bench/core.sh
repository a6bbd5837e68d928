#!/bin/sh
# bench/core.sh -- the core (issue #2): switch, spawn+wait, parked memory,
# timers; against bare Lua coroutines, Python eventlet and gevent.
# Prints table rows (see bench/lib.sh); run alone or through bench/run.sh.
. "$(dirname "$0")/lib.sh"

ours="$BENCH_HOST bench/core/eventlet_lua.lua"
bare="$BENCH_LUA bench/core/bare.lua"
# The same program under plain lua5.4, loading lua/eventlet/core.so.
plain="env LUA_PATH=$BENCH_LUADIR/?.lua;$BENCH_LUADIR/?/init.lua;; LUA_CPATH=$BENCH_LUADIR/?.so;;
  $BENCH_LUA bench/core/eventlet_lua.lua"

echo "core: measuring (eventlet-lua x$BENCH_RUNS, peers x$BENCH_PEER_RUNS)" >&2
# Iteration counts: enough for ~0.1 s or more per run, peers scaled down
# where they are slow (results are per operation, so comparable).
bench_measure switch.ours "$BENCH_RUNS" $ours switch "$(bench_n 1000000)"
bench_measure switch.bare "$BENCH_RUNS" $bare switch "$(bench_n 2000000)"
bench_measure switch.plain "$BENCH_RUNS" $plain switch "$(bench_n 1000000)"
bench_measure spawn.ours "$BENCH_RUNS" $ours spawn "$(bench_n 300000)"
bench_measure spawn.bare "$BENCH_RUNS" $bare spawn "$(bench_n 1000000)"
bench_measure park.ours "$BENCH_RUNS" $ours park "$(bench_n 100000)"
bench_measure park.bare "$BENCH_RUNS" $bare park "$(bench_n 100000)"
nt=$(bench_n 100000)
bench_measure timers.ours "$BENCH_RUNS" $ours timers "$nt"
bench_peers bench/core/peer.py switch:"$(bench_n 100000)" spawn:"$(bench_n 30000)" \
  park:"$(bench_n 100000)" timers:"$nt"

s=$(bench_get switch.ours ns)
bench_row "sleep(0) switch" "$s" "bare resume/yield" "$(bench_get switch.bare ns)" ns within 2.5
bench_row "sleep(0) switch" "$s" "python eventlet" "$(bench_get switch.eventlet ns)" ns faster 15
bench_row "sleep(0) switch" "$s" "gevent" "$(bench_get switch.gevent ns)" ns faster
bench_row "sleep(0) switch, plain lua5.4" "$(bench_get switch.plain ns)" "bare resume/yield" \
  "$(bench_get switch.bare ns)" ns within
bench_limit "sleep(0) switch: allocated" "$(bench_get switch.ours bytes)" B 1 "per switch, GC stopped"

s=$(bench_get spawn.ours ns)
bench_row "spawn+wait" "$s" "python eventlet" "$(bench_get spawn.eventlet ns)" ns faster 20
bench_row "spawn+wait" "$s" "gevent" "$(bench_get spawn.gevent ns)" ns faster
bench_row "spawn+wait" "$s" "bare create+resume" "$(bench_get spawn.bare ns)" ns within
bench_row "spawn+wait: allocated" "$(bench_get spawn.ours bytes)" "bare create+resume" \
  "$(bench_get spawn.bare bytes)" B within

h=$(bench_get park.ours heap)
r=$(bench_get park.ours rss)
bench_limit "parked thread: Lua heap" "$h" B 1536 "$(bench_n 100000) parked"
bench_row "parked thread: RSS" "$r" "python eventlet" "$(bench_get park.eventlet rss)" B smaller
bench_row "parked thread: RSS" "$r" "gevent" "$(bench_get park.gevent rss)" B smaller
bench_row "parked thread: Lua heap" "$h" "bare coroutine" "$(bench_get park.bare heap)" B within

c=$(bench_get timers.ours cpu)
bench_limit "$nt timers: CPU" "$c" s 0.5 "armed+fired"
bench_row "$nt timers: CPU" "$c" "python eventlet" "$(bench_get timers.eventlet cpu)" s faster
bench_row "$nt timers: CPU" "$c" "gevent" "$(bench_get timers.gevent cpu)" s faster
bench_row "$nt timers: late" "$(bench_get timers.ours wall)" "python eventlet" \
  "$(bench_get timers.eventlet wall)" s faster
