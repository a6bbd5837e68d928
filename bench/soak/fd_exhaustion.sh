#!/bin/sh
# bench/soak/fd_exhaustion.sh -- scenario 3: the server runs with
# `ulimit -n 256` while SOAK_CLIENTS (1,000) clients connect and hold a
# keep-alive connection each: most of them wait in the backlog with the
# server out of descriptors.  Its CPU use is sampled meanwhile (no
# spinning on EMFILE); then the clients are killed and a new request must
# be answered (recovery).
. "$(dirname "$0")/lib.sh"
clients=${SOAK_CLIENTS:-1000}
pid=$(ulimit -n 256; soak_server) || exit 1
cpid=$(soak_bg clients "$HOST" bench/soak/clients.lua hold "$PORT" "$clients")
soak_wait_line clients ready 60 || exit 1
sleep 2
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$pid"); sleep 5; t1=$(cpu_ticks "$pid")
echo "clients: $(grep ready "$SOAK_TMP/clients.out"), $(grep answered "$SOAK_TMP/clients.out" | tail -1) so far"
echo "server: fds $(fds "$pid") (limit 256), CPU over 5 s out of descriptors: $(( (t1 - t0) * 100 / hz / 5 ))%"
kill -9 "$cpid"
sleep 2
kill -0 "$pid" 2>/dev/null && alive=yes || alive=no
echo "fd_exhaustion: clients killed; server alive $alive, fds $(fds "$pid"), GET / -> $(get_status "http://127.0.0.1:$PORT/")"
