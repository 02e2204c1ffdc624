#!/usr/bin/env bash
# Instructions per exit of the hypervisor's exit path (docs/exit-cost.md): callgrind runs
# vbh_exitcost (target in BUILD_DIR) with N1 and N2 synthetic exits of each kind;
# (Ir(N2) - Ir(N1)) / (N2 - N1) cancels start-up and tear-down. The harness's own part
# (the stand-in for vbh_vmrun and, for cpuid, for fatal()) is measured the same way from
# callgrind's inclusive per-function counts and subtracted.
#   tests/exitcost/run.sh BUILD_DIR [N1 N2]      (default 1000 2000)
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [N1 N2]}
n1=${2:-1000}
n2=${3:-2000}
[ "$n2" -gt "$n1" ] || { echo "N2 must be larger than N1" >&2; exit 2; }
for tool in valgrind callgrind_annotate; do
  command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install valgrind)" >&2; exit 1; }
done

if [ -f "$build/CMakeCache.txt" ]; then
  cmake --build "$build" --target vbh_exitcost >/dev/null
fi
exe=
for f in "$build/tests/exitcost/vbh_exitcost" "$build/vbh_exitcost"; do
  [ -x "$f" ] && { exe=$f; break; }
done
[ -n "$exe" ] || { echo "no vbh_exitcost in $build: build the target vbh_exitcost (GCC) first" >&2; exit 1; }
if nm "$exe" | grep -q -e __asan_ -e __ubsan_; then
  echo "$exe is built with sanitizers: its counts are not the image's" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure KIND N: prints "total harness" instruction counts of one run.
measure() {
  local out=$tmp/$1.$2.cg
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" "$exe" "$1" "$2" >"$tmp/$1.$2.log" 2>&1; then
    echo "valgrind/vbh_exitcost $1 $2 failed:" >&2
    cat "$tmp/$1.$2.log" >&2
    return 1
  fi
  local total harness
  total=$(awk '/^summary:/ { print $2 }' "$out")
  # From $tmp: run from a directory that prefixes the sources, callgrind_annotate lists a
  # function twice (absolute and relative file name).
  harness=$(cd "$tmp" && callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$out" |
    awk '$0 ~ /:vbh_vmrun( |$)/ || $0 ~ /:vbh::image::fatal\(/ { gsub(",", "", $1); s += $1 }
         END { print s + 0 }')
  echo "$total $harness"
}

printf '%-10s %18s %10s %10s\n' exit-kind instructions/exit harness total
metrics=()
for kind in cpuid hypercall msr_write npf clgi stgi vmload vmsave; do
  # The two runs side by side (valgrind is single-threaded; counts do not depend on load).
  measure "$kind" "$n1" > "$tmp/$kind.m1" &
  p1=$!
  m2=$(measure "$kind" "$n2")
  wait "$p1" || exit 1
  m1=$(cat "$tmp/$kind.m1")
  read -r t1 h1 <<<"$m1"
  read -r t2 h2 <<<"$m2"
  row=$(awk -v t1="$t1" -v t2="$t2" -v h1="$h1" -v h2="$h2" -v d=$((n2 - n1)) \
    'BEGIN { t = (t2 - t1) / d; h = (h2 - h1) / d; printf "%.1f %.1f %.1f", t - h, h, t }')
  read -r net harness total <<<"$row"
  if ! awk -v x="$net" -v t="$t1" 'BEGIN { exit !(x > 0 && t > 0) }'; then
    echo "$kind: instruction count not positive ($net)" >&2
    exit 1
  fi
  printf '%-10s %18s %10s %10s\n' "$kind" "$net" "$harness" "$total"
  metrics+=("VBH-METRIC exitcost_$kind $net instr")
done
printf '%s\n' "${metrics[@]}"
