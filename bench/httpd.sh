#!/bin/sh
# bench/httpd.sh -- the HTTP server (issue #5): wrk against
# examples/hello.lua and against peers serving the same hello world
# ("Hello, World!\n", text/plain): nginx `return 200` (the practical
# limit), nginx + lua (content_by_lua, 1 worker), Python eventlet.wsgi,
# gevent.pywsgi, lua-http and copas (both under lua5.1, the Lua Debian
# packages them for); for Connection: close also nginx + lua
# listening `deferred` (TCP_DEFER_ACCEPT, which ours sets by default).
# Servers are pinned to core 0, wrk to core 1; keep-alive at 10, 100 and
# 1000 connections and Connection: close at 100.  At c=100 also, for
# information, the hello world of a function(req, res) handler and of a
# server writing the access log to a file, against nginx + lua without
# and with its access_log.  Then the
# RSS one idle keep-alive connection costs, at 10,000 connections.  Rows:
# time per request (1/throughput) against every peer, p99 latency, and the
# server's own CPU per request (user + system) against nginx + lua --
# informational: with wrk's single core as busy as the server's, time per
# request can only tie between fast servers, CPU per request still differs.
# The servers with targets close to 1x (ours, nginx, nginx + lua) run each
# scenario BENCH_HTTPD_ROUNDS times, taking turns, and the rows take the
# median of their runs: one 5 s run swings 5-20% on a shared machine.
#
#   BENCH_HTTPD_SECONDS=5   duration of each wrk run (divided by BENCH_SCALE)
#   BENCH_HTTPD_IDLE=10000  connections for the RSS measurement
#   BENCH_HTTPD_ROUNDS=3    runs of each scenario for ours, nginx, nginx + lua
# Prints table rows (see bench/lib.sh); run alone or through bench/run.sh.
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || { echo "httpd: wrk is not installed (make bench-deps)" >&2; exit 0; }
secs=$(( ${BENCH_HTTPD_SECONDS:-5} / BENCH_SCALE )); [ "$secs" -lt 1 ] && secs=1
idle=$(( ${BENCH_HTTPD_IDLE:-10000} / BENCH_SCALE ))
rounds=${BENCH_HTTPD_ROUNDS:-3}
PORT=${BENCH_HTTPD_PORT:-24011}
ncpu=$(nproc)
srv_cpu=0; cli_cpu=$(( ncpu > 1 ? 1 : 0 ))
ulimit -n 20000 2>/dev/null
DIR="$BENCH_TMP/httpd"; mkdir -p "$DIR"

# wait_port PORT: until something accepts there (10 s at most).
wait_port() {
  i=0
  while [ $i -lt 100 ]; do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}

# nginx_conf NAME CONTENT [LOAD [LISTEN]]: write an nginx config, print its
# path; LISTEN adds parameters to the listen directive ("deferred").
nginx_conf() {
  d="$DIR/$1"; mkdir -p "$d"
  sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$PORT${4:+ $4}|g" -e "s|@CONTENT@|$2|" -e "s|@LOAD@|${3:-}|" \
    bench/httpd/nginx.conf.in >"$d/nginx.conf"
  echo "$d/nginx.conf"
}

# next_port: move $PORT to one nothing answers on.
next_port() {
  PORT=$((PORT + 1))
  while curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; do PORT=$((PORT + 1)); done
}

# start NAME CMD...: start a server on core 0 at $PORT (pid in $spid).
start() {
  name=$1; shift
  taskset -c $srv_cpu "$@" >"$DIR/$name.log" 2>&1 &
  spid=$!
  if ! wait_port "$PORT"; then
    echo "httpd: $name did not start:" >&2; tail -3 "$DIR/$name.log" >&2
    kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; spid=""
    return 1
  fi
}

# proc_sum PID FILE PROGRAM: the sum, over a process and its children
# (nginx's worker), of what awk PROGRAM prints from /proc/PID/FILE.
proc_sum() {
  for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
    awk "$3" "/proc/$p/$2" 2>/dev/null
  done | awk '{ t += $1 } END { print t + 0 }'
}

# cpu_ticks PID: CPU clock ticks (user + system) a server has used.
cpu_ticks() { proc_sum "$1" stat '{ print $14 + $15 }'; }

# wrk_run ID CONNS PID [close]: one wrk run; adds a line of rps=, p99= (ns)
# and cpu= (ns of the server's CPU per request: when wrk's core is the
# bottleneck, time per request no longer tells servers apart, this does)
# to ID's runs, of which bench_get takes the median.
wrk_run() {
  id=$1; conns=$2; pid=$3
  set -- -t1 -c"$conns" -d"${secs}s" --latency
  [ "${4:-}" = close ] && set -- "$@" -H "Connection: close"
  t0=$(cpu_ticks "$pid")
  taskset -c $cli_cpu wrk "$@" "http://127.0.0.1:$PORT/" >"$DIR/$id.wrk" 2>&1
  t1=$(cpu_ticks "$pid")
  run=$(awk -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '/Requests\/sec/ { rps = $2 }
       /requests in/ { n = $1 }
       $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                     m = (u == "us") ? 1e3 : (u == "ms") ? 1e6 : (u == "s") ? 1e9 : 1; p99 = v * m }
       /Non-2xx/ { bad = 1 }
       END { if (rps > 0 && !bad) printf "rps=%s ns=%.0f p99=%.0f cpu=%.0f\n", rps, 1e9 / rps, p99,
                                         (n > 0 ? ticks * 1e9 / hz / n : 0) }' \
    "$DIR/$id.wrk")
  [ -n "$run" ] && echo "$run" >>"$BENCH_TMP/$id"
  echo "  $id: ${run:-failed (see $DIR/$id.wrk)}" >&2
}

# rss_kb PID: resident set in KB (nginx's worker, not its master, holds
# the connections).
rss_kb() { proc_sum "$1" status '/^VmRSS:/ { print $2 }'; }

# idle_cost ID: bytes of RSS per idle keep-alive connection ($idle of them).
idle_cost() {
  before=$(rss_kb "$spid")
  "$BENCH_HOST" bench/httpd/hold.lua "$PORT" "$idle" >"$DIR/$1.hold" 2>&1 &
  hpid=$!
  i=0
  while [ $i -lt 600 ] && ! grep -q '^ready' "$DIR/$1.hold"; do sleep 0.1; i=$((i + 1)); done
  sleep 2          # idle connections give their read buffers back after 1 s
  after=$(rss_kb "$spid")
  held=$(awk '/^ready/ { print $2 }' "$DIR/$1.hold")
  kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
  if [ -n "$held" ] && [ "$held" -gt 0 ]; then
    echo "bytes=$(( (after - before) * 1024 / held )) held=$held" >"$BENCH_TMP/$1"
  else
    : >"$BENCH_TMP/$1"
  fi
  echo "  $1: $(cat "$BENCH_TMP/$1") (rss $before -> $after KB)" >&2
}

echo "httpd: measuring (${secs}s per wrk run, $idle idle connections)" >&2
# Every server runs at once on its own port (idle while the others are
# measured), so each scenario measures them back to back.
names=""; ports=""; pids=""; all_pids=""
launch() {   # launch NAME CMD...: start one more server
  if start "$@"; then names="$names $1"; ports="$ports $PORT"; pids="$pids $spid"; all_pids="$all_pids $spid"; fi
  spid=""
  next_port
}
next_port
launch ours "$BENCH_HOST" examples/hello.lua "127.0.0.1:$PORT"
launch oursres env HELLO_FORM=res "$BENCH_HOST" examples/hello.lua "127.0.0.1:$PORT"
launch ourslog env HELLO_LOG=1 "$BENCH_HOST" examples/hello.lua "127.0.0.1:$PORT"   # to its .log
mods=/usr/lib/nginx/modules
if command -v nginx >/dev/null; then
  launch nginx nginx -c "$(nginx_conf static 'default_type text/plain; return 200 "Hello, World!\\n";')"
  if [ -f $mods/ngx_http_lua_module.so ]; then
    lua_content='default_type text/plain; content_by_lua_block { ngx.print("Hello, World!\\n") }'
    lua_load="load_module $mods/ndk_http_module.so; load_module $mods/ngx_http_lua_module.so;"
    launch nginxlua nginx -c "$(nginx_conf lua "$lua_content" "$lua_load")"
    # nginx + lua with TCP_DEFER_ACCEPT, as our server listens by default
    # (defer_accept): for Connection: close only, where it matters.
    launch nginxluad nginx -c "$(nginx_conf lua-deferred "$lua_content" "$lua_load" deferred)"
    # nginx + lua writing its access log (combined format) to a file
    launch nginxlualog nginx -c "$(nginx_conf lua-log "access_log $DIR/lua-log/access.log; $lua_content" \
      "$lua_load")"
  fi
fi
for p in eventlet gevent; do
  bench_have_py "$p" && launch "$p" "$BENCH_PY" bench/httpd/peer.py "$p" "$PORT"
done
# lua5.1 NAME MODULE: launch bench/httpd/NAME.lua when lua5.1 has MODULE.
lua51_peer() {
  command -v lua5.1 >/dev/null && lua5.1 -e "require '$2'" 2>/dev/null &&
    launch "$1" lua5.1 "bench/httpd/$1.lua" "$PORT"
}
lua51_peer luahttp http.server
lua51_peer copas copas
for s in ka10 ka100 ka1000 close100; do
  for name in $names; do : >"$BENCH_TMP/$name-$s"; done
  r=1
  while [ $r -le "$rounds" ]; do
    set -- $ports
    spids=$(echo $pids)
    for name in $names; do
      PORT=$1; shift
      spid=${spids%% *}; spids=${spids#* }
      case $s:$name in ka*:nginxluad) continue ;; ka100:*) ;; *:oursres|*:ourslog|*:nginxlualog) continue ;; esac
      case $r:$name in 1:*|*:ours|*:nginx|*:nginxlua|*:nginxluad) ;; *) continue ;; esac
      case $s in
        close100) wrk_run "$name-$s" 100 "$spid" close ;;
        *) wrk_run "$name-$s" "${s#ka}" "$spid" ;;
      esac
    done
    r=$((r + 1))
  done
done
for p in $all_pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
# The cost of idle keep-alive connections, each on a fresh server: memory
# the wrk runs left free in a warm one would take part of it in unseen.
idle_fresh() {   # idle_fresh NAME CMD...: start at $PORT, measure, stop
  who=$1; shift
  start "$who-fresh" "$@" || return 0
  idle_cost "$who-idle"
  kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
}
next_port
idle_fresh ours "$BENCH_HOST" examples/hello.lua "127.0.0.1:$PORT"
next_port
command -v nginx >/dev/null &&
  idle_fresh nginx nginx -c "$(nginx_conf static-idle 'default_type text/plain; return 200 "Hello, World!\\n";')"

# Rows: time per request (lower is better), judged against each peer.
for s in ka10 ka100 ka1000 close100; do
  case $s in ka*) what="keep-alive c=${s#ka}" ;; *) what="Connection: close c=100" ;; esac
  ours=$(bench_get "ours-$s" ns)
  bench_row "httpd hello, $what (time/request)" "$ours" "nginx return 200" "$(bench_get "nginx-$s" ns)" ns within 1.25
  bench_row "httpd hello, $what (time/request)" "$ours" "nginx + lua" "$(bench_get "nginxlua-$s" ns)" ns within 1.0
  bench_row "httpd hello, $what (time/request)" "$ours" "eventlet.wsgi" "$(bench_get "eventlet-$s" ns)" ns faster 8
  bench_row "httpd hello, $what (time/request)" "$ours" "gevent pywsgi" "$(bench_get "gevent-$s" ns)" ns faster
  bench_row "httpd hello, $what (time/request)" "$ours" "lua-http" "$(bench_get "luahttp-$s" ns)" ns faster
  bench_row "httpd hello, $what (time/request)" "$ours" "copas (minimal)" "$(bench_get "copas-$s" ns)" ns faster
  bench_row "httpd hello, $what (p99 latency)" "$(bench_get "ours-$s" p99)" "nginx return 200" \
    "$(bench_get "nginx-$s" p99)" ns within
  bench_row "httpd hello, $what (server CPU/request)" "$(bench_get "ours-$s" cpu)" "nginx + lua" \
    "$(bench_get "nginxlua-$s" cpu)" ns within
done
bench_row "httpd hello, function(req, res), keep-alive c=100 (server CPU/request)" \
  "$(bench_get oursres-ka100 cpu)" "nginx + lua" "$(bench_get nginxlua-ka100 cpu)" ns within
bench_row "httpd hello, access log to a file, keep-alive c=100 (server CPU/request)" \
  "$(bench_get ourslog-ka100 cpu)" "nginx + lua, access_log" "$(bench_get nginxlualog-ka100 cpu)" ns within
what="Connection: close c=100"
bench_row "httpd hello, $what (time/request)" "$(bench_get ours-close100 ns)" "nginx + lua, deferred" \
  "$(bench_get nginxluad-close100 ns)" ns within
bench_row "httpd hello, $what (server CPU/request)" "$(bench_get ours-close100 cpu)" \
  "nginx + lua, deferred" "$(bench_get nginxluad-close100 cpu)" ns within
bench_limit "httpd RSS per idle keep-alive connection ($idle)" "$(bench_get ours-idle bytes)" B 4096 \
  "nginx: $(bench_fmt "$(bench_get nginx-idle bytes)" B)"
