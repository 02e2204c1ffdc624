#!/usr/bin/env bash
# Run every benchmark built in BUILD_DIR (target vbh_benchmarks) and print its table.
#   tests/bench/run.sh BUILD_DIR [--quick]
# --quick: a short minimum time per benchmark so the whole pass stays under 2 minutes.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [--quick]}
args=()
case "${2:-}" in
  --quick) args+=(--benchmark_min_time=0.05) ;;
  "") ;;
  *) echo "usage: $0 BUILD_DIR [--quick]" >&2; exit 2 ;;
esac

shopt -s nullglob
benches=("$build"/tests/bench/*_bench)
if [ ${#benches[@]} -eq 0 ]; then
  echo "no benchmarks in $build/tests/bench: build the target vbh_benchmarks first" >&2
  exit 1
fi
status=0
for exe in "${benches[@]}"; do
  [ -x "$exe" ] || continue
  echo "=== $(basename "$exe")"
  "$exe" "${args[@]}" || status=1
done
exit $status
