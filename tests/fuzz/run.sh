#!/usr/bin/env bash
# Run every libFuzzer target of a VBH_FUZZ build for SECONDS each, with a persistent
# corpus under BUILD_DIR/fuzz-corpus/<target>. Prints libFuzzer's executions per second.
# Exits non-zero if any target crashes, leaks, times out or finds a broken invariant
# (the crashing input is kept under BUILD_DIR/fuzz-artifacts/).
#   tests/fuzz/run.sh BUILD_DIR SECONDS
#   tests/fuzz/run.sh BUILD_DIR --long HOURS [JOBS]
# SECONDS: each target runs for SECONDS, up to nproc targets at a time (VBH_FUZZ_PARALLEL
# overrides): each libFuzzer process is single-threaded, so on a machine with that many
# free cores every target still gets SECONDS of one core, and CI's 2-core run of four
# targets takes half the wall time. The results are printed in target order.
# --long: a campaign (docs/fuzzing.md): every target for HOURS, one after the other,
# with JOBS parallel workers each (default 1) sharing the target's corpus; the log of
# each worker stays in BUILD_DIR/fuzz-long/, and a summary line per target gives the
# executions, the rate and the coverage reached.
set -uo pipefail
usage() { echo "usage: $0 BUILD_DIR SECONDS | $0 BUILD_DIR --long HOURS [JOBS]" >&2; exit 2; }
[ $# -ge 2 ] || usage
build=$(cd "$1" && pwd) || exit 2
jobs=1
if [ "$2" = --long ]; then
  [ $# -ge 3 ] || usage
  seconds=$(awk -v h="$3" 'BEGIN { if (h + 0 <= 0) exit 1; printf "%d", h * 3600 }') || usage
  jobs=${4:-1}
  long=1
else
  [ $# -eq 2 ] || usage
  seconds=$2
  long=0
fi
targets=$(find "$build/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
[ -n "$targets" ] || { echo "fuzz: no targets in $build/tests/fuzz (build vbh_fuzz_targets)" >&2; exit 1; }

# stat NAME LOGS...: libFuzzer's final statistic NAME summed over the logs.
stat() {
  local name=$1; shift
  sed -n "s/^stat::$name: *//p" "$@" | awk '{ s += $1 } END { print s + 0 }'
}

# report NAME RC LOGS...: the target's result lines; returns 1 if it failed.
report() {
  local name=$1 rc=$2 runs rate cov; shift 2
  runs=$(stat number_of_executed_units "$@")
  rate=$(stat average_exec_per_sec "$@")
  cov=$(grep -ho 'cov: [0-9]*' "$@" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $name ok: $runs runs in $seconds s, $rate exec/s, cov $cov, corpus $(ls "$build/fuzz-corpus/$name" | wc -l) inputs"
    echo "VBH-METRIC fuzz_${name}_exec_per_sec $rate exec/s"
  else
    echo "fuzz: $name FAILED (exit $rc), logs $*:"
    grep -hE 'ERROR|invariant|SUMMARY|Test unit written' "$@" | head -20
    return 1
  fi
}

# one BIN [-seed=N]: one libFuzzer run of BIN for $seconds on its corpus.
one() {
  local name
  name=$(basename "$1")
  "$1" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
      -artifact_prefix="$build/fuzz-artifacts/$name/" "${@:2}" "$build/fuzz-corpus/$name"
}

status=0
for bin in $targets; do
  name=$(basename "$bin")
  mkdir -p "$build/fuzz-corpus/$name" "$build/fuzz-artifacts/$name"
done
if [ $long -eq 0 ]; then
  # Up to $parallel targets at a time; each one's exit code goes to BUILD_DIR/fuzz-NAME.rc.
  parallel=${VBH_FUZZ_PARALLEL:-$(nproc)}
  running=0
  for bin in $targets; do
    name=$(basename "$bin")
    rm -f "$build/fuzz-$name.rc"
    { one "$bin" >"$build/fuzz-$name.log" 2>&1; echo $? > "$build/fuzz-$name.rc"; } &
    running=$((running + 1))
    if [ $running -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
  done
  wait
  for bin in $targets; do
    name=$(basename "$bin")
    report "$name" "$(cat "$build/fuzz-$name.rc" 2>/dev/null || echo 1)" "$build/fuzz-$name.log" ||
      status=1
  done
  exit $status
fi

for bin in $targets; do
  name=$(basename "$bin")
  dir=$build/fuzz-long/$name
  mkdir -p "$dir"
  logs=()
  pids=()
  for j in $(seq 1 "$jobs"); do
    logs+=("$dir/worker-$j.log")
    one "$bin" -seed="$j$(date +%s)" >"$dir/worker-$j.log" 2>&1 &
    pids+=($!)
  done
  rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  report "$name" "$rc" "${logs[@]}" || status=1
done
exit $status
