#!/usr/bin/env bash
# Boot Linux under QEMU TCG (AMD SVM + NPT emulated, VT-d or AMD-Vi IOMMU), run one guest scenario,
# show its checks and metrics. Exit 0 only if the guest reported VBH-DONE with at least
# one check and no failure.
#   qemu-nested/boot.sh [--smp N] [--cpu MODEL] [--scenario NAME] [--timeout S]
#                       [--append KERNEL-ARGS] [--qemu QEMU-ARGS] [--mem SIZE]
#                       [--no-build] [--initrd FILE] [--retries N] [--verbose] [--reboot]
#                       [--series 6.12|6.1] [--gdb] [--gdb-port N] [--accel SPEC]
#                       [--iommu intel|amd|amd-host|none]
# Defaults: --smp 2 --cpu EPYC,+svm,+npt --scenario launch --series 6.12. --series 6.1
# boots Debian's 6.1 kernel with its own initramfs (build.sh --series 6.1). --gdb: QEMU
# waits for a debugger on --gdb-port (1234) before the first instruction
# (tools/gdb/vbh.gdb, docs/debugging.md). A scenario file may set its
# own defaults in a header line "# boot: --cpu qemu64 --timeout 120"; the command line
# wins. --verbose streams the whole serial console. Logs: out/qemu/logs/. A boot that
# dies before /init runs (stock kernel, nothing of vbh loaded) is retried --retries times (1).
# --reboot: a guest reset boots again in the same QEMU (RAM and CMOS kept) instead of
# ending the run (-no-reboot); for scenarios that reset on purpose (tests/scenarios/reset.sh).
# --accel SPEC: QEMU's -accel (tcg); tcg,thread=single runs every vCPU in one host thread
# (tests/scenarios/kselftest.sh: MTTCG lets a vCPU run stale code across a kernel text patch).
# --iommu amd: QEMU's amd-iommu instead of intel-iommu (one IOMMU per machine), the host
# booted with amd_iommu=off (vbh owns the AMD-Vi unit: docs/iommu.md). --iommu none: no
# IOMMU device, so no DMAR or IVRS table and nothing for vbh to own (iommu=none): the
# baseline of the donate + scrub cost (tests/scenarios/donate_rate.sh). --iommu amd-host:
# the same amd-iommu with the host's AMD IOMMU driver left on (no amd_iommu=off), which
# vbh must refuse (tests/scenarios/amdhost.sh).
# A scenario header "# prepare: SCRIPT" runs SCRIPT SCENARIO SERIES after the build; the
# initramfs it prints is booted (tests/protected-vm/prepare.sh; qemu-nested/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/out/qemu
defaults() {
  smp=2 cpu=EPYC,+svm,+npt scenario=launch timeout='' append='' qemu_args='' mem=1G
  initrd='' build=1 verbose=0 retries=1 series=6.12 gdb=0 gdb_port=1234 noreboot=-no-reboot
  accel=tcg iommu=intel
}

usage() { sed -n '5,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
parse() { # parse ARGS...: sets the option variables
  while [ $# -gt 0 ]; do
    case $1 in
      --smp) smp=${2:?}; shift ;;          --cpu) cpu=${2:?}; shift ;;
      --scenario) scenario=${2:?}; shift ;; --timeout) timeout=${2:?}; shift ;;
      --append) append="$append ${2:?}"; shift ;; --qemu) qemu_args="$qemu_args ${2:?}"; shift ;;
      --mem) mem=${2:?}; shift ;;          --no-build) build=0 ;;
      --initrd) initrd=${2:?}; shift ;;    --retries) retries=${2:?}; shift ;;
      --verbose|-v) verbose=1 ;;           --series) series=${2:?}; shift ;;
      --gdb) gdb=1 ;;                      --gdb-port) gdb=1 gdb_port=${2:?}; shift ;;
      --reboot) noreboot='' ;;
      --accel) accel=${2:?}; shift ;;
      --iommu) iommu=${2:?}; shift ;;
      *) usage ;;
    esac
    shift
  done
}

scenario_file() { # every scenario is tests/scenarios/NAME.sh (build.sh packs them all)
  [ -r "$root/tests/scenarios/$1.sh" ] && echo "$root/tests/scenarios/$1.sh"
}

# The scenario's "# boot:" header gives defaults, then the command line overrides them.
defaults; parse "$@"
sfile=$(scenario_file "$scenario") || { echo "boot: no scenario '$scenario'" >&2; exit 2; }
defaults
# shellcheck disable=SC2046 # header options are words
parse $(sed -n 's/^# boot: //p' "$sfile") "$@"
sfx=''; [ "$series" = 6.12 ] || sfx=-$series  # build.sh's file names for a series
own_initrd=$initrd
[ -n "$initrd" ] || initrd=$out/initramfs$sfx.cpio.gz
if [ $gdb = 1 ]; then  # a person at the debugger: no early deadline, no second boot
  timeout=${timeout:-3600} retries=0
fi
if [ -z "$timeout" ]; then  # boot + baseline + workload + margin
  wl=$(echo " $append " | sed -n 's/.* vbh\.workload_secs=\([0-9]*\) .*/\1/p')
  bl=$(echo " $append " | sed -n 's/.* vbh\.baseline_secs=\([0-9]*\) .*/\1/p')
  timeout=$((120 + ${wl:-60} + ${bl:-10}))
fi

bold='' red='' green='' off=''
if [ -t 1 ]; then bold=$'\e[1m' red=$'\e[31m' green=$'\e[32m' off=$'\e[0m'; fi
mkdir -p "$out/logs"

if [ $build = 1 ]; then
  t0=$SECONDS
  printf 'building (qemu-nested/build.sh --series %s) ... ' "$series"
  if "$root/qemu-nested/build.sh" --series "$series" > "$out/logs/build.log" 2>&1; then
    echo "ok ($((SECONDS - t0)) s)"
  else
    echo "${red}FAILED${off}"; tail -n 30 "$out/logs/build.log"
    echo "build log: $out/logs/build.log"; exit 1
  fi
fi
# A scenario's "# prepare: SCRIPT" header: after the build, SCRIPT SCENARIO SERIES adds
# what the scenario needs beyond build.sh's initramfs and prints the initramfs to boot
# (tests/protected-vm/prepare.sh); not when --initrd names one.
prep=$(sed -n 's/^# prepare: //p' "$sfile")
if [ -n "$prep" ] && [ -z "$own_initrd" ]; then
  t0=$SECONDS
  printf 'preparing (%s %s %s) ... ' "$prep" "$scenario" "$series"
  if initrd=$("$root/$prep" "$scenario" "$series" 2> "$out/logs/prepare.log" | tail -n1); then
    echo "ok ($((SECONDS - t0)) s)"
  else
    echo "${red}FAILED${off}"; tail -n 30 "$out/logs/prepare.log"
    echo "prepare log: $out/logs/prepare.log"; exit 1
  fi
fi
if [ ! -r "$out/kernel$sfx.env" ] || [ ! -r "$initrd" ]; then
  echo "boot: nothing built yet for $series; run without --no-build" >&2; exit 1
fi
# shellcheck source=/dev/null
. "$out/kernel$sfx.env"
if [ $gdb = 1 ]; then  # -S: stop before the first instruction until gdb says continue
  qemu_args="$qemu_args -S -gdb tcp:127.0.0.1:$gdb_port"
fi

# no_timer_check: on a loaded host, TCG can miss the kernel's early "timer through the
# interrupt-remapped IO-APIC" probe and the boot panics (seen under load, not a vbh bug).
# intel_iommu=off intremap=off: vbh owns the VT-d unit (docs/iommu.md); a host whose
# IOMMU driver runs it is refused at insmod.
cmdline="console=ttyS0 panic=-1 intel_iommu=off intremap=off no_timer_check vbh.scenario=$scenario${append}"
# shellcheck disable=SC2054 # the commas are QEMU's, inside one -device argument
case $iommu in
  intel) iommu_dev=(-device intel-iommu,aw-bits=48) ;;
  amd) iommu_dev=(-device amd-iommu) cmdline="amd_iommu=off $cmdline" ;;
  amd-host) iommu_dev=(-device amd-iommu) ;;
  none) iommu_dev=() ;;
  *) echo "boot: --iommu intel|amd|amd-host|none, not '$iommu'" >&2; exit 2 ;;
esac
echo "${bold}booting${off} $KVER: scenario $scenario, -smp $smp -cpu $cpu, timeout $timeout s"
if [ $gdb = 1 ]; then
  echo "QEMU waits for gdb on 127.0.0.1:$gdb_port:" \
    "gdb -x tools/gdb/vbh.gdb -ex 'target remote :$gdb_port' -ex continue (docs/debugging.md)"
fi

show() { # show LINE: live progress for one serial line
  local l=${1%$'\r'} r
  if [ $verbose = 1 ]; then echo "  | $l"; return; fi
  case $l in
    *VBH-CHECK*) l=${l#*VBH-CHECK }; r=${l#* }; r=${r%% *}
      [ "$r" = pass ] && r="${green}pass${off}" || r="${red}FAIL${off}"
      printf '  %4ss  %s  %s\n' $((SECONDS - start)) "$r" "${l%% *}" ;;
    *VBH-INFO*) printf '  %4ss  %s\n' $((SECONDS - start)) "${l#*VBH-INFO }" ;;
  esac
}

boot_once() { # boot into a new $log and follow it until the guest powers off, reports
  # VBH-DONE or times out. Sets status, wall, init_wall (empty if /init never spoke).
  local seen=0 done_at='' total line
  log=$out/logs/$(date -u +%Y%m%d-%H%M%S)-$scenario$sfx-smp$smp.log
  while ! (set -C; : > "$log") 2>/dev/null; do  # taken by a boot in the same second
    sleep 1; log=$out/logs/$(date -u +%Y%m%d-%H%M%S)-$scenario$sfx-smp$smp.log
  done  # (and it exists before QEMU's background shell opens it)
  ln -sfn "${log##*/}" "$out/logs/last.log"
  # shellcheck disable=SC2086 # qemu_args are words
  qemu-system-x86_64 -accel "$accel" -M q35 -cpu "$cpu" -smp "$smp" -m "$mem" "${iommu_dev[@]}" \
    -nographic $noreboot -kernel "$VMLINUZ" -initrd "$initrd" \
    -append "$cmdline" $qemu_args < /dev/null >> "$log" 2>&1 &
  qpid=$!
  trap 'kill "$qpid" 2>/dev/null || true' EXIT
  start=$SECONDS init_wall='' status=''
  while :; do
    total=$(wc -l < "$log")
    while IFS= read -r line; do
      [ -z "$init_wall" ] && [[ $line == *VBH-* ]] && init_wall=$((SECONDS - start))
      [[ $line == *VBH-DONE* ]] && done_at=${done_at:-$SECONDS}
      show "$line"
    done < <([ "$total" -gt "$seen" ] && sed -n "$((seen + 1)),${total}p" "$log")
    seen=$total
    kill -0 $qpid 2>/dev/null || { wait $qpid || true; status=exited; break; }
    if [ -n "$done_at" ] && [ $((SECONDS - done_at)) -gt 20 ]; then status=hung; break; fi
    if [ $((SECONDS - start)) -ge "$timeout" ]; then status=timeout; break; fi
    if [ -z "$init_wall" ] && [ $gdb = 0 ] && [ $((SECONDS - start)) -ge 180 ]; then status=timeout; break; fi
    sleep 0.5
  done
  wall=$((SECONDS - start))
  kill $qpid 2>/dev/null && { sleep 2; kill -9 $qpid 2>/dev/null || true; }
  trap - EXIT
}

# Nothing of vbh runs before /init: a boot that dies earlier is the stock kernel under
# TCG (seen: an int3 Oops in early text patching on a loaded host). Boot again, openly.
trap 'echo " interrupted"; exit 130' INT TERM
retried=''
for attempt in $(seq 0 "$retries"); do
  boot_once
  [ -n "$init_wall" ] || [ "$attempt" = "$retries" ] && break
  echo "${red}the kernel died before /init${off} ($status, log $log); booting again"
  retried="$retried ${log##*/}"
done

# Parse and summarise the protocol lines.
proto=$(grep -a -o 'VBH-[A-Z]* .*' "$log" | tr -d '\r' || true)
checks=$(echo "$proto" | sed -n 's/^VBH-CHECK //p')
metrics=$(echo "$proto" | sed -n 's/^VBH-METRIC //p')
read -r d_pass d_fail < <(echo "$proto" | sed -n 's/^VBH-DONE //p' | tail -n1; echo) || true
n_pass=$(echo "$checks" | awk '$2 == "pass"' | grep -c . || true)
n_fail=$(echo "$checks" | awk '$2 != "pass"' | grep -c . || true)

echo
if [ -n "$checks" ]; then
  printf '%s%-32s %-6s %s%s\n' "$bold" CHECK RESULT DETAIL "$off"
  echo "$checks" | while read -r name res detail; do
    c=$green; [ "$res" = pass ] || { c=$red; res=FAIL; }
    printf '%-32s %s%-6s%s %s\n' "$name" "$c" "$res" "$off" "${detail:0:160}"
  done
fi
if [ -n "$metrics" ]; then
  printf '\n%s%-32s %12s  %s%s\n' "$bold" METRIC VALUE UNIT "$off"
  echo "$metrics" | while read -r name value unit; do printf '%-32s %12s  %s\n' "$name" "$value" "$unit"; done
fi
echo

why=
if [ -z "$d_pass" ]; then
  case $status in
    timeout) why="timed out after $timeout s without VBH-DONE" ;;
    *) why="the guest stopped without VBH-DONE" ;;
  esac
  grep -aq 'Kernel panic' "$log" && why="$why (kernel panic)"
elif [ "$d_fail" != 0 ] || [ "$n_fail" != 0 ]; then why="$n_fail check(s) failed"
elif [ "$n_pass" = 0 ]; then why="no check ran"
elif [ "$d_pass" != "$n_pass" ]; then why="VBH-DONE says $d_pass passed, log has $n_pass"
fi
timing="wall $wall s, QEMU start to /init ${init_wall:-?} s"
[ -z "$retried" ] || timing="$timing; booted again after an early crash:$retried"
find "$out/logs" -name '*-smp*.log' | sort -r | tail -n +51 | xargs -r rm -f  # keep 50
if [ -z "$why" ]; then
  echo "${bold}${green}PASS${off} $scenario (smp $smp): $n_pass checks passed; $timing"
  echo "log: $log"
  exit 0
fi
echo "----- last 40 lines of $log -----"
tail -n 40 "$log" | tr -d '\r'
echo "-----"
echo "${bold}${red}FAIL${off} $scenario (smp $smp): $why; $n_pass passed, $n_fail failed; $timing"
echo "log: $log"
exit 1
