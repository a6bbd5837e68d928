#!/bin/sh
# bench/profile.sh -- where a benchmark's time goes, in instructions per
# operation, by C function (callgrind counts instructions exactly, so the
# numbers repeat run after run, unlike timings on a shared machine).
#
#   bench/profile.sh [-i] N PROGRAM ARGS...
#
# ARGS contain @N@ where the iteration count goes.  The program runs under
# callgrind twice, with N and with 2N iterations, and the difference of
# each function's cost divided by N is printed: the cost of one operation,
# without start-up.  -i prints inclusive costs (a function and what it
# calls; misleading across coroutine switches) instead of self costs.
# PROGRAM "host" is a profiling build of the eventlet-lua host linked with
# Debian's static liblua5.4.a (its shared library has no symbols), linked
# by the Makefile's own command; "lua5.4" is the plain interpreter.
#
#   bench/profile.sh 20000 host bench/core/eventlet_lua.lua switch @N@
#
# An operation is one iteration as the program counts it (a switch
# iteration is two switches: one in each thread).  BENCH_PROF_HOST names
# a profiling host built elsewhere (when build/ does not link right now).
set -eu
cd "$(dirname "$0")/.."
inclusive=no
[ "${1:-}" = "-i" ] && { inclusive=yes; shift; }
[ $# -ge 2 ] || { sed -n '2,20s/^# \{0,1\}//p' "$0" >&2; exit 2; }
n=$1; prog=$2; shift 2
command -v valgrind >/dev/null || { echo "profile: valgrind is not installed" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/profile.XXXXXX")
trap 'rm -rf "$out"' EXIT

export BENCH_NO_ALLOC=1  # time the operations only: no allocation pass
if [ "$prog" = host ]; then
  prog=${BENCH_PROF_HOST:-build/eventlet-lua-prof}
  if [ -z "${BENCH_PROF_HOST:-}" ]; then
    # The Makefile's own link command for the host, with the static liblua.
    scripts/build.sh -s all
    static="$(pkg-config --variable=libdir lua5.4 2>/dev/null ||
      echo /usr/lib/x86_64-linux-gnu)/liblua5.4.a"
    link=$(make -n HOST="$prog" "$prog" | grep -e "-o $prog ")
    [ -n "$link" ] || { echo "profile: cannot find the host's link command" >&2; exit 1; }
    eval "$(echo "$link" | sed "s|-llua5\.4|$static|")"
  fi
  export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;"
fi

# costs COUNT: per-function cost of one run with COUNT iterations.
costs() {
  args=$(echo "$*" | sed "s/@N@/$count/g")
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$count" \
    "$prog" $args >/dev/null 2>&1
  callgrind_annotate --auto=no --inclusive=$inclusive --threshold=100 "$out/cg.$count" |
    sed -n '/file:function/,$p' |
    awk 'NR > 2 && $1 ~ /^[0-9,]+$/ {
      c = $1; gsub(",", "", c); f = $0; sub(/ \[[^]]*\]$/, "", f)
      f = substr(f, match(f, /[^ ]+$/))
      sub(/.*:/, "", f); sub(/'"'"'[0-9]+$/, "", f); s[f] += c }
      END { for (k in s) print k, s[k] }' | sort >"$out/costs.$count"
}

count=$n; costs "$@"
count=$((2 * n)); costs "$@"
join -a 2 -e 0 -o 0,1.2,2.2 "$out/costs.$n" "$out/costs.$((2 * n))" |
  awk -v n="$n" -v inc="$([ $inclusive = yes ] && echo 1)" '{ d = ($3 - $2) / n; if ($1 != "(below" && $1 != "main)") t += d
                   if (d >= 1) printf "%8.0f  %s\n", d, $1 }
                 END { if (!inc) printf "%8.0f  TOTAL instructions per operation\n", t }' |
  sort -rn | head -"${TOP:-40}"
