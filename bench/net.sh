#!/bin/sh
# bench/net.sh -- sockets (issue #4): TCP echo round trips and bulk
# throughput over loopback, eventlet-lua against a plain blocking C
# client/server pair (bench/c/netpair.c, the limit), Python eventlet and
# gevent.  Each pair runs as two processes: a server in the background,
# the measured client in the foreground.
# Prints table rows (see bench/lib.sh); run alone or through bench/run.sh.
. "$(dirname "$0")/lib.sh"

cpair="$BENCH_TMP/netpair"
cc -O2 -o "$cpair" bench/c/netpair.c || { echo "net: cannot build netpair" >&2; exit 1; }
ours="$BENCH_HOST bench/net/eventlet_lua.lua"
peer="$BENCH_PY bench/net/peer.py"
peers=""
for p in eventlet gevent; do bench_have_py "$p" && peers="$peers $p"; done
# pair ID RUNS "SERVER CMD" "CLIENT CMD" ARGS...: measure the client
# against a fresh server each run.  The server binds port 0 and prints
# "port=N" (a fixed port could be taken, or make a client connect to
# itself); the client gets at most 5 minutes.
pair() {
  id=$1; runs=$2; server=$3; client=$4; shift 4
  : >"$BENCH_TMP/$id"
  i=0
  while [ "$i" -lt "$runs" ]; do
    : >"$BENCH_TMP/$id.port"
    $server 0 >"$BENCH_TMP/$id.port" 2>/dev/null &
    spid=$!
    port=""
    t=0
    while [ -z "$port" ] && [ "$t" -lt 100 ]; do
      port=$(sed -n 's/^port=//p' "$BENCH_TMP/$id.port")
      [ -n "$port" ] || { sleep 0.1; t=$((t + 1)); }
    done
    if [ -z "$port" ] || ! timeout 300 $client "$port" "$@" >>"$BENCH_TMP/$id" 2>"$BENCH_TMP/$id.err"; then
      echo "bench: $id failed" >&2; tail -3 "$BENCH_TMP/$id.err" >&2
      : >"$BENCH_TMP/$id"
    fi
    kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
    i=$((i + 1))
  done
  echo "  $id: $(tail -1 "$BENCH_TMP/$id")" >&2
}

echo "net: measuring (eventlet-lua x$BENCH_RUNS, peers x$BENCH_PEER_RUNS)" >&2
ne=$(bench_n 100000)
nb=$(( 1073741824 / BENCH_SCALE ))
pair echo.ours "$BENCH_RUNS" "$ours echo-server" "$ours echo-client" "$ne" 64
pair echo.c "$BENCH_RUNS" "$cpair echo-server" "$cpair echo-client" "$ne" 64
pair bulk.ours "$BENCH_RUNS" "$ours bulk-server" "$ours bulk-client" "$nb"
pair bulk.c "$BENCH_RUNS" "$cpair bulk-server" "$cpair bulk-client" "$nb"
pair many.ours "$BENCH_RUNS" "$ours echo-serve" "$ours echo-many" 100 "$(bench_n 2000)" 64
for p in $peers; do
  pair "many.$p" "$BENCH_PEER_RUNS" "$peer $p echo-serve" "$peer $p echo-many" 100 "$(bench_n 500)" 64
  pair "echo.$p" "$BENCH_PEER_RUNS" "$peer $p echo-server" "$peer $p echo-client" "$(bench_n 20000)" 64
  pair "bulk.$p" "$BENCH_PEER_RUNS" "$peer $p bulk-server" "$peer $p bulk-client" "$nb"
done

# TLS bulk: our client and server against openssl s_client | s_server
# (both discard what they receive; certificate made here).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BENCH_TMP/key.pem" \
  -out "$BENCH_TMP/cert.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1
BENCH_TLS_CERT=$BENCH_TMP/cert.pem BENCH_TLS_KEY=$BENCH_TMP/key.pem
export BENCH_TLS_CERT BENCH_TLS_KEY
nt=$(( 268435456 / BENCH_SCALE ))
pair tls.ours "$BENCH_RUNS" "$ours tls-bulk-server" "$ours tls-bulk-client" "$nt"
# openssl_tls_bulk BYTES: one s_server/s_client transfer, timed until the
# client has sent everything; prints ns per MiB, or nothing when the client
# failed.  Readiness is read off the socket table: a probe connection would
# use up s_server's single accept.
openssl_tls_bulk() {
  tport=$($BENCH_HOST -e 'local l = require("eventlet").listen("127.0.0.1:0")
    print((select(2, l:getsockname()))) l:close()')
  # s_server ends its connection at EOF on its stdin: give it one that stays open.
  sleep 60 | openssl s_server -quiet -naccept 1 -accept "$tport" \
    -cert "$BENCH_TLS_CERT" -key "$BENCH_TLS_KEY" >/dev/null 2>&1 &
  spid=$!
  t=0
  until ss -Hltn "sport = :$tport" | grep -q . || [ "$t" -gt 50 ]; do sleep 0.1; t=$((t + 1)); done
  t0=$(date +%s%N)
  ok=1
  head -c "$1" /dev/zero | timeout 300 openssl s_client -quiet -no_ign_eof \
    -connect "127.0.0.1:$tport" >/dev/null 2>&1 || ok=0
  t1=$(date +%s%N)
  pkill -P $$ sleep 2>/dev/null
  wait "$spid" 2>/dev/null
  [ "$ok" = 1 ] && echo "ns=$(( (t1 - t0) * 1048576 / $1 ))"
}
: >"$BENCH_TMP/tls.openssl"
i=0
while [ "$i" -lt "$BENCH_RUNS" ]; do
  openssl_tls_bulk "$nt" >>"$BENCH_TMP/tls.openssl"
  i=$((i + 1))
done

e=$(bench_get echo.ours ns)
bench_row "TCP echo round trip (64 B)" "$e" "blocking C pair" "$(bench_get echo.c ns)" ns within 1.43
bench_row "TCP echo round trip (64 B)" "$e" "python eventlet" "$(bench_get echo.eventlet ns)" ns faster 10
bench_row "TCP echo round trip (64 B)" "$e" "gevent" "$(bench_get echo.gevent ns)" ns faster
m=$(bench_get many.ours ns)
bench_row "TCP echo, 100 connections (per request)" "$m" "python eventlet" "$(bench_get many.eventlet ns)" ns faster 10
bench_row "TCP echo, 100 connections (per request)" "$m" "gevent" "$(bench_get many.gevent ns)" ns faster
b=$(bench_get bulk.ours ns)
bench_row "TCP bulk, time per MiB ($((nb / 1048576)) MiB)" "$b" "blocking C pair" "$(bench_get bulk.c ns)" ns within 1.11
bench_row "TCP bulk, time per MiB ($((nb / 1048576)) MiB)" "$b" "python eventlet" "$(bench_get bulk.eventlet ns)" ns faster
bench_row "TCP bulk, time per MiB ($((nb / 1048576)) MiB)" "$b" "gevent" "$(bench_get bulk.gevent ns)" ns faster
tl=$(bench_get tls.ours ns)
bench_row "TLS bulk, time per MiB ($((nt / 1048576)) MiB)" "$tl" "openssl s_client|s_server" "$(bench_get tls.openssl ns)" ns within 1.11
