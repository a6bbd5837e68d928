#!/bin/sh
# Run the spec suite under a memory checker.
#   scripts/check.sh asan       the ASan+UBSan host (make eventlet-lua-asan)
#   scripts/check.sh valgrind   valgrind memcheck around the normal host
# Further arguments name spec files (default: all).  Ends with the suite's
# "N passed, N failed" line; fails on any sanitizer/memcheck report.
set -u
cd "$(dirname "$0")/.."
mode=$1; shift
specs=${*:-spec}
mkdir -p build
log=build/check-$mode.log
case $mode in
  asan)
    # Lua's own allocations are not ours to leak-check at exit (busted
    # ends with os.exit); everything else aborts on the first report.
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      timeout -k 10 2400 busted --lua=./eventlet-lua-asan \
      --helper=spec/helpers/init.lua -o TAP $specs >"$log" 2>&1
    rc=$? ;;
  valgrind)
    EVENTLET_VALGRIND=1 EVENTLET_SPEC_TIMEOUT=120 timeout -k 10 3000 valgrind -q --error-exitcode=99 \
      --errors-for-leak-kinds=definite --leak-check=full \
      --suppressions=scripts/valgrind.supp \
      ./eventlet-lua /usr/bin/busted --ignore-lua --helper=spec/helpers/init.lua \
      -o TAP $specs >"$log" 2>&1
    rc=$? ;;
  *) echo "usage: $0 asan|valgrind [spec...]" >&2; exit 2 ;;
esac
grep -E '^not ok|ERROR: AddressSanitizer|runtime error:|==[0-9]+== (Invalid|Conditional|Use of|.*definitely lost)' "$log" | head -50
p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; tail -30 "$log"; fi
echo "$mode: $p passed, $f failed"
[ "$rc" -eq 0 ]
