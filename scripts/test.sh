#!/bin/sh
# Run the specs under the eventlet-lua host and under plain lua5.4 and end
# with one line: "N passed, N failed".
#   scripts/test.sh                 both runtimes, every spec
#   scripts/test.sh host|plain      one runtime
#   scripts/test.sh all spec/x_spec.lua ...   chosen files
#   scripts/test.sh backends [specs]   both runtimes under each hub backend
#                                   in $EVENTLET_BACKENDS (default "poll select")
# Any run honours EVENTLET_HUB (e.g. EVENTLET_HUB=poll scripts/test.sh).
set -u
cd "$(dirname "$0")/.."

which=${1:-all}
[ $# -gt 0 ] && shift
specs=${*:-spec}
limit=${EVENTLET_SUITE_TIMEOUT:-1500}
mkdir -p build
passed=0
failed=0
rcs=0

# run_suite NAME COMMAND...: run busted, print its TAP, count the results.
run_suite() {
  name=$1; shift
  # A log of this run's own (several runs may share the tree), kept as
  # build/test-<runtime>.log once read.
  log=build/test-$name.$$.log
  echo "== specs under $name"
  timeout -k 10 "$limit" "$@" --helper=spec/helpers/init.lua -o TAP $specs >"$log" 2>&1
  rc=$?
  grep -E '^(not ok|# )' "$log" | head -200
  sed -n '/^not ok/,/^ok /p' "$log" | grep -vE '^(ok|not ok) ' | head -100
  p=$(grep -c '^ok ' "$log")
  f=$(grep -c '^not ok ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "busted under $name exited $rc without a failing test:"; tail -20 "$log"
    f=1
  fi
  [ "$rc" = 124 ] && echo "suite under $name hit the ${limit}s limit"
  echo "$name: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
  [ "$rc" -ne 0 ] && rcs=1
  mv -f "$log" "build/test-$name.log"
}

# run_runtimes WHICH SUFFIX: the host and/or plain lua5.4 suites.
run_runtimes() {
  case $1 in
    all|host) run_suite "host$2" busted --lua=./eventlet-lua ;;
  esac
  case $1 in
    all|plain) run_suite "plain$2" busted --lua=lua5.4 ;;
  esac
}

if [ "$which" = backends ]; then
  for backend in ${EVENTLET_BACKENDS:-poll select}; do
    export EVENTLET_HUB="$backend"
    run_runtimes all "-$backend"
  done
else
  run_runtimes "$which" ""
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$rcs" -eq 0 ]
