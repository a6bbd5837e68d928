#!/bin/sh
# bench/httpd/misses.sh -- instructions and last-level cache misses per
# hello-world request of examples/hello.lua under `wrk -c1000`, counted by
# cachegrind (exact, unlike timings on a shared machine; docs/httpd.md).
#
#   bench/httpd/misses.sh [CONNECTIONS]
#
# With CLOSE=1 every request says Connection: close (a connection a
# request: accept, first request, close); HELLO_FORM and HELLO_LOG pass
# to examples/hello.lua (its other handler forms, the access log).
#
# The server runs twice under cachegrind, loaded for 4 s and for 12 s;
# the differences of the totals divided by the difference of the request
# counts give the cost of one request without start-up and without setting
# up the connections.  The host is a profiling build (Debian's static
# liblua5.4.a: symbols) whose idle connections doze after 30 s instead of
# 0.25 s: under valgrind a busy connection waits longer than 0.25 s between
# requests.  The simulated last-level cache is 1 MiB, 8-way (LL=...).
set -eu
cd "$(dirname "$0")/../.."
conns=${1:-1000}
port=${PORT:-18790}
for tool in valgrind wrk cg_annotate; do
  command -v $tool >/dev/null || { echo "misses: $tool is not installed" >&2; exit 1; }
done
out=$(mktemp -d "${TMPDIR:-/tmp}/misses.XXXXXX")
trap 'rm -rf "$out"' EXIT

# The Makefile's own link command for the host, with the static liblua and
# http_sock.o and serveq.o built with IDLE_TRIM 30.
scripts/build.sh -s all
static="$(pkg-config --variable=libdir lua5.4 2>/dev/null ||
  echo /usr/lib/x86_64-linux-gnu)/liblua5.4.a"
for part in http_sock serveq; do
  compile=$(make -n -W src/$part.c build/$part.o | grep -e "-o build/$part.o")
  eval "$(echo "$compile" | sed "s|-o build/$part.o|-DIDLE_TRIM=30 -o $out/$part.o|")"
done
link=$(make -n HOST="$out/host" "$out/host" | grep -e "-o $out/host ")
eval "$(echo "$link" | sed -e "s|-llua5\.4|$static|" -e "s|build/http_sock.o|$out/http_sock.o|" \
  -e "s|build/serveq.o|$out/serveq.o|")"
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;"

# run SECONDS: "requests instructions read-misses write-misses" of one run.
run() {
  valgrind --tool=cachegrind --cache-sim=yes --LL=${LL:-1048576,8,64} \
    --cachegrind-out-file="$out/cg.$1" "$out/host" examples/hello.lua 127.0.0.1:$port \
    >/dev/null 2>&1 &
  pid=$!
  sleep 3
  n=$(wrk -t1 -c"$conns" -d"$1"s ${CLOSE:+-H "Connection: close"} http://127.0.0.1:$port/ |
    awk '/requests in/ {print $1}')
  kill -INT $pid; wait $pid || true
  echo "$n $(cg_annotate --show=Ir,DLmr,DLmw "$out/cg.$1" |
    awk '/PROGRAM TOTALS/ {gsub(",", ""); print $1, $3, $5}')"
}
short=$(run 4)
long=$(run 12)
echo "$short $long" | awk -v c="$conns" '{ n = $5 - $1
  printf "c=%d: %d and %d requests; a request: %.0f instructions, %.1f LL read + %.1f LL write misses\n",
    c, $1, $5, ($6 - $2) / n, ($7 - $3) / n, ($8 - $4) / n }'
