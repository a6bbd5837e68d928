#!/bin/sh
# bench/soak/sigkill.sh -- scenario 4: client processes killed with
# SIGKILL mid-request (half a body sent), mid-response (reading an 8 MiB
# stream) and mid-TLS-handshake (half a ClientHello; and openssl s_client
# killed at once), SOAK_KILLS (20) rounds of each, against a plain and a
# TLS server.  Afterwards both servers must be alive, answer, and be back
# to their descriptor count from before.
. "$(dirname "$0")/lib.sh"
kills=${SOAK_KILLS:-20}
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
  -keyout "$SOAK_TMP/key.pem" -out "$SOAK_TMP/cert.pem" 2>/dev/null
plain=$(soak_server) || exit 1
PORT_PLAIN=$PORT; PORT=$((PORT + 1)); : >"$SOAK_TMP/server.out"
tls=$(soak_server "$SOAK_TMP/cert.pem" "$SOAK_TMP/key.pem") || exit 1
PORT_TLS=$PORT
sleep 0.5
f_plain=$(fds "$plain"); f_tls=$(fds "$tls")

# kill_round MODE PORT: 5 clients of MODE started, given time to get into
# the middle of things, then SIGKILLed.
kill_round() {
  c=$(soak_bg "c$1" "$HOST" bench/soak/clients.lua "$1" "$2" 5)
  soak_wait_line "c$1" ready 20 >/dev/null
  kill -9 "$c"
  wait "$c" 2>/dev/null
}
i=0
while [ $i -lt "$kills" ]; do
  kill_round partial "$PORT_PLAIN"
  kill_round stream "$PORT_PLAIN"
  kill_round tls-partial "$PORT_TLS"
  kill_round stream "$PORT_TLS"
  (sleep 1 | timeout -s KILL 0.05 openssl s_client -connect "127.0.0.1:$PORT_TLS") >/dev/null 2>&1
  i=$((i + 1))
done
sleep 3
echo "sigkill: $kills rounds of 5 clients killed mid-request, mid-response (plain and TLS)," \
     "mid-handshake, plus $kills openssl s_client"
for s in "plain $plain $f_plain http://127.0.0.1:$PORT_PLAIN/" "tls $tls $f_tls https://127.0.0.1:$PORT_TLS/"; do
  set -- $s
  kill -0 "$2" 2>/dev/null && alive=yes || alive=no
  echo "sigkill: $1 server alive $alive, fds $3 before -> $(fds "$2") after, GET / -> $(get_status "$4")"
done
