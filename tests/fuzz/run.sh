#!/usr/bin/env bash
# Run every libFuzzer target of a VBH_FUZZ build for SECONDS each, with a persistent
# corpus under BUILD_DIR/fuzz-corpus/<target>. Prints libFuzzer's executions per second.
# Exits non-zero if any target crashes, leaks, times out or finds a broken invariant
# (the crashing input is kept under BUILD_DIR/fuzz-artifacts/).
#   tests/fuzz/run.sh BUILD_DIR SECONDS
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR SECONDS" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
seconds=$2
targets=$(find "$build/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
[ -n "$targets" ] || { echo "fuzz: no targets in $build/tests/fuzz (build vbh_fuzz_targets)" >&2; exit 1; }

status=0
for bin in $targets; do
  name=$(basename "$bin")
  corpus=$build/fuzz-corpus/$name
  artifacts=$build/fuzz-artifacts/$name/
  log=$build/fuzz-$name.log
  mkdir -p "$corpus" "$artifacts"
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
      -artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz: $name ok: ${runs:-?} runs in ${seconds} s, ${rate:-?} exec/s, corpus $(ls "$corpus" | wc -l) inputs"
  else
    echo "fuzz: $name FAILED (exit $rc), log $log:"
    grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -20
    status=1
  fi
done
exit $status
