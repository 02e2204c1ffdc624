#!/usr/bin/env bash
# Run every vbh test: hosted unit tests (ASan/UBSan), the freestanding build, the
# fuzzers for a bounded time, a short benchmark pass, and the QEMU boot tests.
# Installs what it needs. Logs go to out/tests/.
#   VBH_FUZZ_SECONDS  seconds per fuzz target (default 60)
#   VBH_SKIP_QEMU=1   hosted steps only
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$root/out/tests
mkdir -p "$out"
jobs=$(nproc)

passed=0 failed=0 failures=()
step() { # step NAME COMMAND...: run, log, count
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@" > >(tee "$out/$name.log") 2>&1; then
    passed=$((passed + 1)); echo "--- $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "--- $name: FAILED ($((SECONDS - t0)) s), log: $out/$name.log"
  fi
}

# The hosted build leaves out the benchmark programs (VBH_BENCH=OFF): ctest runs none of
# them, and the bench step below builds them (Release, -Werror) and runs them. Its debug
# information is line tables only (-g1, not -g): a sanitizer's or a test's report names
# the same functions, inlined frames, files and lines, and the build compiles about a
# fifth faster. Locals for gdb: configure by hand with RelWithDebInfo alone (-g).
hosted() {
  cmake -S . -B build/hosted -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVBH_SANITIZE=ON \
      -DVBH_BENCH=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null &&
  cmake --build build/hosted -j "$jobs" &&
  ctest --test-dir build/hosted -j "$jobs" --output-on-failure --timeout 600
}

fuzz() {
  CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DVBH_FUZZ=ON -DVBH_SANITIZE=OFF -DVBH_BENCH=OFF >/dev/null &&
  cmake --build build/fuzz -j "$jobs" --target vbh_fuzz_targets &&
  "$root/tests/fuzz/run.sh" "$root/build/fuzz" "${VBH_FUZZ_SECONDS:-60}"
}

bench() {
  cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DVBH_SANITIZE=OFF >/dev/null &&
  cmake --build build/bench -j "$jobs" --target vbh_benchmarks &&
  "$root/tests/bench/run.sh" "$root/build/bench" --quick
}

step deps ./tools/deps.sh host
step hosted hosted
[ -x tests/fuzz/run.sh ] && step fuzz fuzz
[ -x tests/bench/run.sh ] && step bench bench
[ -x tests/exitcost/run.sh ] && step exitcost "$root/tests/exitcost/run.sh" "$root/build/bench"
step report-selftest /usr/bin/python3 tools/report/test_report.py
step report-selftest-protected /usr/bin/python3 tools/report/test_protected.py
if [ "${VBH_SKIP_QEMU:-0}" != 1 ] && [ -x qemu-nested/test.sh ]; then
  step qemu ./qemu-nested/test.sh
fi
# The Debian packages (docs/packaging.md): built, lintian without errors, installed with
# apt (DKMS builds vbh.ko for the 6.12 and the 6.1 kernel), purged without a trace.
[ -x tools/package.sh ] && step package ./tools/package.sh --check

echo
[ $failed -eq 0 ] || echo "failed steps: ${failures[*]}"
# CI shows the end of this output: name the failed QEMU steps and where their logs are.
if [[ " ${failures[*]} " == *" qemu "* ]]; then
  # each failed step's failing lines (checks, FAIL verdict, its log file)
  awk '/^=== /{n=$2; k=0} / (FAIL|fail)( |$)|^log: /{if (k<10) b[n]=b[n] "    " $0 "\n"; k++}
       /^--- .*: FAILED/{sub(/:$/, "", $2); printf "  qemu step %s failed:\n%s", $2, b[$2]}' "$out/qemu.log"
fi
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
