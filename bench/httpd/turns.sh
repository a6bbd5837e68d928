#!/bin/sh
# bench/httpd/turns.sh -- server CPU a hello-world request (user and
# system, from /proc/PID/stat), the servers taken in turns: each pinned
# to core 0, wrk on core 1, one server loaded at a time, round after
# round.  On a shared machine whose speed drifts, turns compare better
# than runs apart (docs/httpd.md).
#
#   bench/httpd/turns.sh [CONNECTIONS [SECONDS [ROUNDS]]]
#
# Servers: this tree's examples/hello.lua; with BASE=DIR, the same from
# another built checkout (the code before a change); nginx + lua
# (content_by_lua, 1 worker) when nginx and its lua module are there.
set -eu
cd "$(dirname "$0")/../.."
conns=${1:-1000}
secs=${2:-5}
rounds=${3:-3}
command -v wrk >/dev/null || { echo "turns: wrk is not installed" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/turns.XXXXXX")
pids=""
trap 'kill $pids 2>/dev/null || true; rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
port=${PORT:-18900}
names=""

# start NAME PORT CMD...: a server pinned to core 0, in the background.
start() {
  name=$1 p=$2
  shift 2
  taskset -c 0 "$@" >"$tmp/$name.log" 2>&1 &
  pids="$pids $!"
  eval "pid_$name=$!; port_$name=$p"
  names="$names $name"
}

start ours $port ./eventlet-lua examples/hello.lua 127.0.0.1:$port
if [ -n "${BASE:-}" ]; then
  start base $((port + 1)) env LUA_PATH="$BASE/lua/?.lua;$BASE/lua/?/init.lua;;" \
    "$BASE/eventlet-lua" examples/hello.lua 127.0.0.1:$((port + 1))
fi
mods=/usr/lib/nginx/modules
if command -v nginx >/dev/null && [ -f $mods/ngx_http_lua_module.so ]; then
  cat >"$tmp/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
error_log $tmp/nginx.err; pid $tmp/nginx.pid;
load_module $mods/ndk_http_module.so; load_module $mods/ngx_http_lua_module.so;
events { worker_connections 20000; }
http {
  access_log off; keepalive_requests 100000000;
  client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp;
  uwsgi_temp_path $tmp; scgi_temp_path $tmp;
  server { listen 127.0.0.1:$((port + 2));
    location / { default_type text/plain; content_by_lua_block { ngx.print("Hello, World!\n") } } }
}
EOF
  start nginxlua $((port + 2)) nginx -c "$tmp/nginx.conf"
fi
sleep 1.5

# ticks PID: user and system clock ticks the process has used.
ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

echo "server CPU a request, c=$conns, ${secs}s a turn, $rounds rounds"
r=1
while [ $r -le "$rounds" ]; do
  for name in $names; do
    eval "pid=\$pid_$name; p=\$port_$name"
    before=$(ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$p/")
    after=$(ticks "$pid")
    echo "$out" | awk -v r=$r -v name=$name -v hz="$hz" -v b="$before" -v a="$after" '
      /requests in/ { n = $1 } /Requests\/sec/ { rps = $2 }
      END { split(b, x, " "); split(a, y, " ")
            u = (y[1] - x[1]) * 1e6 / hz / n; s = (y[2] - x[2]) * 1e6 / hz / n
            printf "round %d  %-9s %7.0f requests/s  user %5.2f us  system %5.2f us  all %5.2f us\n",
                   r, name, rps, u, s, u + s }'
  done
  r=$((r + 1))
done
