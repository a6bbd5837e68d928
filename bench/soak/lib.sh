# bench/soak/lib.sh -- helpers of the soak scenarios (sourced): the server
# under test, and samples of a process's RSS, descriptors and CPU time.
SOAK_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SOAK_ROOT" || exit 1
HOST="$SOAK_ROOT/eventlet-lua"
SOAK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
PORT=${SOAK_PORT:-$((24100 + $$ % 500))}
trap 'soak_cleanup' EXIT INT TERM

# soak_cleanup: stop what the scenario started (the pids it recorded).
soak_cleanup() {
  for p in $(cat "$SOAK_TMP/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$SOAK_TMP"
}

# soak_bg NAME CMD...: start CMD in the background, output in
# $SOAK_TMP/NAME.out, its pid recorded (and echoed).
soak_bg() {
  _n=$1; shift
  "$@" >"$SOAK_TMP/$_n.out" 2>&1 &
  echo $! >>"$SOAK_TMP/pids"
  echo $!
}

# soak_wait_line NAME PATTERN [SECONDS]: until NAME's output has PATTERN.
soak_wait_line() {
  _i=0
  while [ $_i -lt $(( ${3:-30} * 10 )) ]; do
    grep -q "$2" "$SOAK_TMP/$1.out" 2>/dev/null && return 0
    sleep 0.1; _i=$((_i + 1))
  done
  echo "soak: $1 never printed '$2':" >&2; tail -5 "$SOAK_TMP/$1.out" >&2
  return 1
}

# soak_server [cert key]: start bench/soak/server.lua on $PORT, print its pid.
soak_server() {
  _pid=$(soak_bg server "$HOST" bench/soak/server.lua "$PORT" "$@")
  soak_wait_line server serving 20 || return 1
  echo "$_pid"
}

# rss_kb PID / fds PID / cpu_ticks PID (user+system clock ticks).
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# get_status URL: the HTTP status curl gets (000 when none).
get_status() {
  curl -s -k -o /dev/null -w '%{http_code}' --max-time 10 "$1"
}
