#!/bin/sh
# bench/run.sh -- the driver of `make bench`: runs every bench/<area>.sh
# (all of bench/*.sh but lib.sh, run.sh and profile.sh)
# (or the areas named: bench/run.sh core coordination), collects their
# rows and prints one table of eventlet-lua against its peers, measured
# side by side in this run.  The table is also written as Markdown to
# build/bench.md (docs/performance.md quotes it).
#
#   BENCH_RUNS=5 BENCH_PEER_RUNS=3   runs per program (median is kept)
#   BENCH_SCALE=10                   divide iteration counts (a quick look)
#   BENCH_AREA_TIMEOUT=400           seconds before a hung area is stopped
set -u
cd "$(dirname "$0")/.." || exit 1
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
export BENCH_TMP
trap 'rm -rf "$BENCH_TMP"' EXIT INT TERM

areas=""
if [ $# -gt 0 ]; then
  for a in "$@"; do areas="$areas bench/$a.sh"; done
else
  # core and coordination first, then the other areas in name order.
  for f in bench/core.sh bench/coordination.sh bench/*.sh; do
    case " $areas " in *" $f "*) continue ;; esac
    case $f in bench/lib.sh|bench/run.sh|bench/profile.sh) ;; *) [ -f "$f" ] && areas="$areas $f" ;; esac
  done
fi

# Measure a snapshot of the build: others may rebuild the tree meanwhile
# (a host being relinked cannot run), and every area sees the same code.
snap="$BENCH_TMP/snapshot"
mkdir -p "$snap"
cp eventlet-lua "$snap/" && cp -R lua "$snap/" || { echo "bench: build first (make)" >&2; exit 2; }
BENCH_HOST="$snap/eventlet-lua"
BENCH_LUADIR="$snap/lua"
export BENCH_HOST BENCH_LUADIR

rows="$BENCH_TMP/rows"
: >"$rows"
start=$(date +%s)
for f in $areas; do
  [ -f "$f" ] || { echo "bench: no such area: $f" >&2; exit 2; }
  # An area that hangs must not hang `make bench`: its whole process group
  # goes after BENCH_AREA_TIMEOUT seconds (the rows it printed stay).
  timeout -k 10 "${BENCH_AREA_TIMEOUT:-400}" sh "$f" >>"$rows"
  rc=$?
  [ "$rc" = 124 ] && echo "bench: $f ran out of time (BENCH_AREA_TIMEOUT)" >&2
  [ "$rc" != 0 ] && [ "$rc" != 124 ] && echo "bench: $f exited with $rc" >&2
done

# Print the rows as an aligned table; as Markdown when $1 = md.
table() {
  awk -F '\t' -v md="${1:-}" '
    BEGIN { split("benchmark|eventlet-lua|peer|peer result|ratio|target|met?", h, "|") }
    NF == 7 { n++; for (i = 1; i <= 7; i++) { c[n, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
    END {
      for (i = 1; i <= 7; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
      line(h, 0)
      if (md) { s = "|"; for (i = 1; i <= 7; i++) s = s " " dash(w[i]) " |"; print s }
      else { s = ""; for (i = 1; i <= 7; i++) s = s (i > 1 ? "-+-" : "") dash(w[i]); print s }
      for (r = 1; r <= n; r++) { for (i = 1; i <= 7; i++) row[i] = c[r, i]; line(row, 1) }
    }
    function dash(k,   s) { s = ""; while (k-- > 0) s = s "-"; return s }
    function line(a, x,   i, s) {
      s = md ? "| " : ""
      for (i = 1; i <= 7; i++) s = s sprintf("%-" w[i] "s", a[i]) (i < 7 ? " | " : (md ? " |" : ""))
      print s
    }' "$rows"
}

mkdir -p build
echo
table
table md >build/bench.md
met=$(awk -F '\t' 'NF == 7 && $7 == "yes"' "$rows" | wc -l)
missed=$(awk -F '\t' 'NF == 7 && $7 ~ /^NO/' "$rows" | wc -l)
echo
echo "$met targets met, $missed missed ($(( $(date +%s) - start )) s; $(nproc) CPUs;" \
  "$(uname -m); $(date -u +%Y-%m-%dT%H:%MZ))"
{ echo; echo "$met targets met, $missed missed."; } >>build/bench.md
