#!/bin/sh
# Run libFuzzer targets built by `make fuzz-build`.
#   scripts/fuzz.sh SECONDS target...
# Each target runs for SECONDS on its seeds (fuzz/corpus/<target>/, read
# only, with the dictionary fuzz/<target>.dict or fuzz/http.dict) plus
# what earlier runs found (build/fuzz/corpus/<target>/), one
# at a time, niced (the machine is shared), logging build/fuzz-<target>.log.
# A crash leaves build/fuzz/crash-<target>-* and makes the script fail.
set -u
cd "$(dirname "$0")/.."
secs=$1; shift
rc=0
for t in "$@"; do
  mkdir -p "build/fuzz/corpus/$t"
  log=build/fuzz-$t.log
  dict=fuzz/$t.dict
  case $t in http_*) dict=fuzz/http.dict ;; esac
  nice -n 10 "build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -dict="$dict" -artifact_prefix="build/fuzz/crash-$t-" -print_final_stats=1 \
    "build/fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
  r=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz $t: ${secs}s, ${runs:-?} runs, $cov, exit $r"
  [ "$r" -eq 0 ] || { rc=1; grep -m5 -E 'ERROR|fuzz: |Test unit written' "$log"; }
done
exit $rc
