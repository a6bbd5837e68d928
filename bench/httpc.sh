#!/bin/sh
# bench/httpc.sh -- the HTTP client (issue #6): sequential and
# 100-concurrent keep-alive GETs against nginx on loopback, against curl's
# own loop (one curl process, --parallel for the concurrent case) and
# python3-eventlet's green urllib.  Wall time per request (lower is
# better).  Prints table rows (see bench/lib.sh).
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null 2>&1 || { echo "httpc: nginx not installed, skipped" >&2; exit 0; }
dir="$BENCH_TMP/httpc-nginx"
mkdir -p "$dir/tmp"
port=$(( 20000 + $$ % 20000 ))
cat >"$dir/nginx.conf" <<CONF
daemon on;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; location / { return 200 "Hello, World!\n"; } }
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || exit 1
trap 'kill "$(cat "$dir/nginx.pid")" 2>/dev/null' EXIT
sleep 0.2
url="http://127.0.0.1:$port/"

# curl_loop ID N PARALLEL: one curl process fetching url N times
# (keep-alive), PARALLEL > 1 with --parallel; prints ns= rps= like ours.
curl_loop() {
  id=$1; n=$2; par=$3
  flags=""
  [ "$par" -gt 1 ] && flags="--parallel --parallel-max $par"
  : >"$BENCH_TMP/$id"
  i=0
  while [ "$i" -lt "$BENCH_PEER_RUNS" ]; do
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    curl -s --no-progress-meter -o /dev/null $flags "$url?[1-$n]" 2>/dev/null || return 1
    t1=$(date +%s%N)
    awk -v n="$n" -v d="$((t1 - t0))" 'BEGIN { printf "ns=%.0f rps=%.0f\n", d / n, n * 1e9 / d }' \
      >>"$BENCH_TMP/$id"
    i=$((i + 1))
  done
  echo "  $id: $(tail -1 "$BENCH_TMP/$id")" >&2
}

n=$(bench_n 20000)
echo "httpc: measuring against nginx on port $port" >&2
bench_measure seq.ours "$BENCH_RUNS" "$BENCH_HOST" bench/httpc/client.lua "$n" 1 "$url"
bench_measure par.ours "$BENCH_RUNS" "$BENCH_HOST" bench/httpc/client.lua "$n" 100 "$url"
curl_loop seq.curl "$n" 1
curl_loop par.curl "$n" 100
if bench_have_py eventlet; then
  np=$(bench_n 2000)
  bench_measure seq.eventlet "$BENCH_PEER_RUNS" "$BENCH_PY" bench/httpc/peer.py "$np" 1 "$url"
  bench_measure par.eventlet "$BENCH_PEER_RUNS" "$BENCH_PY" bench/httpc/peer.py "$np" 100 "$url"
fi

s=$(bench_get seq.ours ns)
p=$(bench_get par.ours ns)
bench_row "httpc GET, sequential (keep-alive)" "$s" "curl loop" "$(bench_get seq.curl ns)" ns within 1.25
bench_row "httpc GET, 100 concurrent" "$p" "curl --parallel" "$(bench_get par.curl ns)" ns within 1.25
bench_row "httpc GET, sequential (keep-alive)" "$s" "python eventlet urllib" \
  "$(bench_get seq.eventlet ns)" ns faster 10
bench_row "httpc GET, 100 concurrent" "$p" "python eventlet urllib" \
  "$(bench_get par.eventlet ns)" ns faster 10
