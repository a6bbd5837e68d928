# bench/lib.sh -- shared helpers of the bench/<area>.sh scripts (sourced).
#
# An area script measures with bench_measure and prints result rows with
# bench_row / bench_limit / bench_info.  A row is one line of 7 fields
# separated by tabs:
#
#   benchmark  eventlet-lua  peer  peer-result  ratio  target  met?
#
# bench/run.sh runs every bench/<area>.sh and prints all rows as one table;
# anything else an area script prints goes to stderr as progress.
#
# A program measured here prints one line of key=value pairs (bench/lib.lua,
# bench/lib.py); bench_measure runs it BENCH_RUNS times and bench_get takes
# the median of one key over those runs.

BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BENCH_RUNS=${BENCH_RUNS:-5}          # runs of eventlet-lua programs
BENCH_PEER_RUNS=${BENCH_PEER_RUNS:-3} # runs of (slower) peer programs
BENCH_SCALE=${BENCH_SCALE:-1}         # divide iteration counts (quick looks)
BENCH_HOST=${BENCH_HOST:-"$BENCH_ROOT/eventlet-lua"}
BENCH_LUADIR=${BENCH_LUADIR:-"$BENCH_ROOT/lua"}  # Lua modules and core.so
BENCH_LUA=${BENCH_LUA:-lua5.4}
BENCH_PY=${BENCH_PY:-/usr/bin/python3}  # Debian's, which has the peers
BENCH_TMP=${BENCH_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")}
cd "$BENCH_ROOT" || exit 1

# bench_n N: an iteration count divided by BENCH_SCALE.
bench_n() {
  echo $(( $1 / BENCH_SCALE ))
}

# bench_have_py MODULE: true when Debian's python3 can import MODULE.
bench_have_py() {
  "$BENCH_PY" -c "import $1" >/dev/null 2>&1
}

# bench_measure ID RUNS CMD...: run CMD RUNS times, keep its result lines
# under ID.  A failing run is reported on stderr and leaves ID empty.
bench_measure() {
  _id=$1; _runs=$2; shift 2
  : >"$BENCH_TMP/$_id"
  _i=0
  while [ "$_i" -lt "$_runs" ]; do
    if ! "$@" >>"$BENCH_TMP/$_id" 2>"$BENCH_TMP/$_id.err"; then
      echo "bench: $_id failed: $*" >&2
      sed 's/^/  /' "$BENCH_TMP/$_id.err" | tail -5 >&2
      : >"$BENCH_TMP/$_id"
      return 1
    fi
    _i=$((_i + 1))
  done
  echo "  $_id: $(tail -1 "$BENCH_TMP/$_id")" >&2
}

# bench_py_peers: the Python peers Debian's python3 can import.
bench_py_peers() {
  for _p in eventlet gevent; do bench_have_py "$_p" && printf '%s ' "$_p"; done
}

# bench_peers PROGRAM MODE:N...: measure each MODE (N iterations) under
# every installed Python peer: `python3 PROGRAM PEER MODE N`, kept as
# MODE.eventlet, MODE.gevent.
bench_peers() {
  _prog=$1; shift
  for _p in $(bench_py_peers); do
    for _m in "$@"; do
      bench_measure "${_m%%:*}.$_p" "$BENCH_PEER_RUNS" "$BENCH_PY" "$_prog" "$_p" "${_m%%:*}" "${_m#*:}"
    done
  done
}

# bench_get ID KEY: the median of KEY over ID's runs (empty when missing).
bench_get() {
  [ -s "$BENCH_TMP/$1" ] || return 0
  tr ' ' '\n' <"$BENCH_TMP/$1" | sed -n "s/^$2=//p" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_fmt VALUE UNIT: a value for the table ("123 ns", "1.2 KB", ...).
bench_fmt() {
  [ -n "$1" ] || { echo "n/a"; return; }
  awk -v v="$1" -v u="$2" 'BEGIN {
    if (u == "ns" && v >= 1e6) printf "%.2f ms\n", v / 1e6
    else if (u == "ns" && v >= 1e4) printf "%.1f us\n", v / 1e3
    else if (u == "B" && v >= 10240) printf "%.1f KB\n", v / 1024
    else if (u == "B" && v < 10) printf "%.2g B\n", v
    else if (u == "B") printf "%.0f B\n", v
    else if (u == "s") printf "%.3f s\n", v
    else if (v >= 100) printf "%.0f %s\n", v, u
    else printf "%.3g %s\n", v, u }'
}

# bench_row NAME OURS PEER PEERVAL UNIT KIND [TARGET]: one comparison row.
# Lower values are better.  KIND says how the ratio reads and is judged:
#   faster   PEERVAL/OURS, "12.3x faster"; met when >= TARGET
#   smaller  PEERVAL/OURS, "5.1x smaller"; met when >= TARGET
#   within   OURS/PEERVAL, "1.6x slower" (or "larger" for bytes); met when <= TARGET
# Without TARGET the row is for information ("-").
bench_row() {
  awk -v n="$1" -v o="$2" -v p="$3" -v pv="$4" -v u="$5" -v k="$6" -v t="${7:-}" \
      -v fo="$(bench_fmt "$2" "$5")" -v fp="$(bench_fmt "$4" "$5")" 'BEGIN {
    w = (k != "within") ? k : (u == "B") ? "larger" : "slower"
    tt = (t == "") ? "-" : (k == "within" ? "<= " : ">= ") t "x " w
    if (o == "" || pv == "") {  # a side failed or is not installed
      printf "%s\t%s\t%s\t%s\tn/a\t%s\t%s\n", n, fo, p, fp, tt, (t == "") ? "-" : "NO (not measured)"
      exit }
    if (k == "within") { r = (pv > 0) ? o / pv : 0; met = (r <= t)
                         rt = (r > 0 && r < 1) ? sprintf("%.2fx %s", 1 / r, u == "B" ? "smaller" : "faster") \
                                               : sprintf("%.2fx %s", r, w) }
    else { r = (o > 0) ? pv / o : 0; met = (r >= t)
           rt = (r > 0 && r < 1) ? sprintf("%.1fx %s", 1 / r, k == "faster" ? "slower" : "larger") \
                                 : sprintf("%.1fx %s", r, k) }
    m = (t == "") ? "-" : met ? "yes" : "NO"
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, fo, p, fp, rt, tt, m }'
}

# bench_limit NAME OURS UNIT LIMIT [NOTE]: a row judged against an absolute
# limit (lower is better); NOTE fills the peer column.
bench_limit() {
  _met=NO
  [ -n "$2" ] && awk -v o="$2" -v l="$4" 'BEGIN { exit !(o < l) }' && _met=yes
  printf '%s\t%s\t%s\t-\t-\t< %s\t%s\n' "$1" "$(bench_fmt "$2" "$3")" "${5:--}" \
    "$(bench_fmt "$4" "$3")" "$_met"
}

# bench_info NAME OURS UNIT [NOTE]: a measured value without a peer.
bench_info() {
  printf '%s\t%s\t%s\t-\t-\t-\t-\n' "$1" "$(bench_fmt "$2" "$3")" "${4:--}"
}
