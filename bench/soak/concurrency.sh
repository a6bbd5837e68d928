#!/bin/sh
# bench/soak/concurrency.sh -- scenario 2: SOAK_SLOWLORIS (1,000)
# slowloris connections held open while wrk drives SOAK_CONNS (10,000)
# concurrent keep-alive connections for SOAK_SECONDS (20); prints wrk's
# latency percentiles (the target: p99 under 100 ms) and checks the
# server still answers afterwards.
. "$(dirname "$0")/lib.sh"
conns=${SOAK_CONNS:-10000}
loris=${SOAK_SLOWLORIS:-1000}
secs=${SOAK_SECONDS:-20}
ulimit -n "$(ulimit -Hn)" 2>/dev/null
need=$((conns + loris + 100))
[ "$(ulimit -n)" -lt "$need" ] && { conns=$(( $(ulimit -n) - loris - 100 ))
  echo "concurrency: descriptor limit $(ulimit -n): sized down to $conns connections"; }
pid=$(soak_server) || exit 1
soak_bg loris "$HOST" bench/soak/clients.lua slowloris "$PORT" "$loris" >/dev/null
soak_wait_line loris ready 120 || exit 1
echo "slowloris: $(cat "$SOAK_TMP/loris.out")"
wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency "http://127.0.0.1:$PORT/" >"$SOAK_TMP/wrk.out"
grep -E 'Latency|requests in|Requests/sec|Socket errors|Non-2xx|^ +(50|75|90|99)%' "$SOAK_TMP/wrk.out"
echo "server during the run: rss $(rss_kb "$pid") KiB, fds $(fds "$pid")"
echo "afterwards: GET / -> $(get_status "http://127.0.0.1:$PORT/")"
p99=$(awk '$1 == "99%" { print $2 }' "$SOAK_TMP/wrk.out")
echo "concurrency: $conns connections + $loris slowloris for ${secs}s: p99 $p99"
