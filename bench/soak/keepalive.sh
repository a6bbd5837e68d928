#!/bin/sh
# bench/soak/keepalive.sh -- scenario 1: SOAK_REQUESTS (1,000,000)
# keep-alive requests from wrk (50 connections) in rounds of SOAK_ROUND
# seconds; the server's RSS and descriptor count are sampled after each
# round and must stay flat after the first (warm-up) round.
. "$(dirname "$0")/lib.sh"
total_wanted=${SOAK_REQUESTS:-1000000}
round=${SOAK_ROUND:-3}
pid=$(soak_server) || exit 1
echo "round requests total rss_kb fds"
total=0; r=0
while [ "$total" -lt "$total_wanted" ]; do
  r=$((r + 1))
  n=$(wrk -t2 -c50 -d"${round}s" "http://127.0.0.1:$PORT/" | awk '/requests in/ { print $1 }')
  total=$((total + ${n:-0}))
  rss=$(rss_kb "$pid"); f=$(fds "$pid")
  echo "$r $n $total $rss $f"
  [ "$r" -eq 1 ] && { rss1=$rss; f1=$f; }
  [ "${n:-0}" -eq 0 ] && { echo "keepalive: wrk got no answers"; exit 1; }
done
echo "keepalive: $total requests in $r rounds; RSS ${rss1} KiB after warm-up -> ${rss} KiB" \
     "($(( (rss - rss1) * 100 / rss1 ))%), fds $f1 -> $f"
