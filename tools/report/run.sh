#!/usr/bin/env bash
# One command for the benchmark report (docs/benchmarks.md):
#   tools/report/run.sh [--smp N] [--append KERNEL-ARGS] [--require-depriv]
#       build, boot the bench scenario under QEMU TCG and the footprint scenario at
#       2 and 4 GiB, write out/report/report.{md,png}
#   tools/report/run.sh --log FILE [--footprint-log FILE]... [--require-depriv]
#       report from existing serial logs (footprint boots: more footprint rows)
#   tools/report/run.sh --check [DIR] [--require-depriv] validate a report (default out/report)
#   --nested LOG: also report KVM's guests bare vs on vbh from an svm-e2e serial log
#   --donate-log LOG: donate + scrub without an IOMMU (a donate_rate boot); when booting,
#       run.sh boots it itself
#   --protected LOG: protected vs ordinary guests (tests/protected-bench/run.sh; default
#       out/protected-bench/last.log when it exists, else the section says "not measured")
# Exit status: 0 when the report was written and is well formed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3  # Debian's matplotlib is built for the system interpreter
smp=2 log='' check='' req='' append=() hostload='' nested=() fplogs=() donate=() prot=()
while [ $# -gt 0 ]; do
  case $1 in
    --smp) smp=${2:?}; shift ;;
    --append) append+=(--append "${2:?}"); shift ;;
    --log) log=${2:?}; shift ;;
    --nested) nested=(--nested "${2:?}"); shift ;;
    --footprint-log) fplogs+=(--footprint-log "${2:?}"); shift ;;
    --donate-log) donate=(--donate-log "${2:?}"); shift ;;
    --protected) prot=(--protected "${2:?}"); shift ;;
    --check) check=$root/out/report  # DIR is optional: the next word unless it is an option
             if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then check=$2; shift; fi ;;
    --require-depriv) req=--require-depriv ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
  shift
done
[ -n "$check" ] && exec "$py" "$root/tools/report/report.py" --check "$check" $req

need_matplotlib() {
  "$py" -c 'import matplotlib' 2>/dev/null && return 0
  local SUDO='' try
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  for try in 1 2 3 4 5 6; do  # another helper may hold the dpkg lock
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      python3-matplotlib > /dev/null && return 0
    if [ "$try" = 1 ]; then $SUDO apt-get update -qq || true; else sleep 20; fi
  done
  echo "run.sh: cannot install python3-matplotlib" >&2; return 1
}

# qemu-nested/build.sh packs benchmod, bench.sh and tests/guest-bench's programs
# (/lib/vbh/bin). It fails when some part did not build (e.g. no hypervisor image yet)
# but still packs the initramfs without it: then the bare half still runs and the
# scenario reports why the deprivileged half was skipped.
build() {
  local stamp=$root/out/bench/build.stamp
  mkdir -p "$root/out/bench"; : > "$stamp"
  echo "run.sh: qemu-nested/build.sh (log: out/bench/build.log)"
  "$root/qemu-nested/build.sh" > "$root/out/bench/build.log" 2>&1 && return 0
  tail -n 3 "$root/out/bench/build.log" >&2
  [ "$root/out/qemu/initramfs.cpio.gz" -nt "$stamp" ] ||
    { echo "run.sh: build failed before packing an initramfs" >&2; return 1; }
  echo "run.sh: build incomplete; booting what was packed" >&2
}

boot() {
  local out rc=0 load0
  build
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  out=$("$root/qemu-nested/boot.sh" --no-build --scenario bench --smp "$smp" "${append[@]}" \
        2>&1 | tee >(cat >&2)) || rc=$?  # not tee /dev/stderr: it truncates a redirected log
  log=$(echo "$out" | sed -n 's/^log: //p' | tail -n1)
  hostload="$load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after ($(nproc) host CPUs)"
  if [ -z "$log" ]; then  # boot.sh died before its summary: take the newest bench log
    log=$(find "$root/out/qemu/logs" -name "*-bench-smp$smp.log" -newer "$root/out/bench/build.stamp" \
          | sort | tail -n1)
  fi
  if [ -z "$log" ] || [ ! -r "$log" ]; then echo "run.sh: boot.sh produced no log" >&2; return 1; fi
  [ $rc = 0 ] || echo "run.sh: boot.sh reported failures (exit $rc); writing the report anyway" >&2
  local mem fl
  for mem in 2G 4G; do  # the footprint at other RAM sizes, about 45 s each
    fl=$("$root/qemu-nested/boot.sh" --no-build --scenario footprint --mem "$mem" 2>&1 |
         sed -n 's/^log: //p' | tail -n1) || true
    if [ -n "$fl" ]; then fplogs+=(--footprint-log "$fl")
    else echo "run.sh: footprint boot at $mem produced no log" >&2; fi
  done
  # Donate + scrub with no IOMMU for vbh to own (the bench boot owns VT-d), ~40-70 s
  fl=$("$root/qemu-nested/boot.sh" --no-build --scenario donate_rate 2>&1 |
       sed -n 's/^log: //p' | tail -n1) || true
  if [ -n "$fl" ]; then donate=(--donate-log "$fl")
  else echo "run.sh: donate_rate boot produced no log" >&2; fi
}

# Instructions per exit of the same tree (docs/exit-cost.md), for the report's
# "Hypervisor time per exit" table; any GCC build dir will do, build/qemu exists by now.
exitcost() {
  local ec=$root/out/report/exitcost.txt dir=$root/build/qemu
  mkdir -p "$root/out/report"
  [ -f "$dir/CMakeCache.txt" ] || { echo "run.sh: no $dir: no instruction counts" >&2; return 0; }
  if "$root/tests/exitcost/run.sh" "$dir" > "$ec" 2>&1; then
    exitcost_args=(--exitcost "$ec")
  else
    echo "run.sh: tests/exitcost/run.sh failed (see $ec): no instruction counts" >&2
  fi
}

need_matplotlib
[ -n "$log" ] || boot
# The protected-guest figures need the rebuilt kvm.ko: their own boot, outside CI.
pl=$root/out/protected-bench/last.log
[ ${#prot[@]} -gt 0 ] || [ ! -r "$pl" ] || prot=(--protected "$pl")
exitcost_args=()
exitcost
"$py" "$root/tools/report/report.py" "$log" --out "$root/out/report" ${hostload:+--host-load "$hostload"} \
  "${exitcost_args[@]}" "${nested[@]}" "${fplogs[@]}" "${donate[@]}" "${prot[@]}"
"$py" "$root/tools/report/report.py" --check "$root/out/report" $req
