#!/usr/bin/env bash
# The QEMU test matrix (what CI runs, via tests/run-all.sh): build once, then boot
#   selftest        smp 2   the pipeline itself (qemu-nested/testmod)
#   selftest-must-fail      a deliberately failing check (and only it) must fail boot.sh
#   launch          smp 2   vbh.ko late launch + 60 s workload (VBH_QEMU_WORKLOAD_SECS)
#   launch          smp 4   same, 20 s workload
#   nosvm           smp 2   CPU without SVM/NPT: insmod refused, system unchanged
#   nonpt           smp 2   the same scenario on a CPU with SVM but no NPT
#   loader, hypranges, logfollow, nohooks   smp 2, each with its own "# boot:" defaults
#                   (nohooks: the production vbh.bin refuses TEST_* and the TEST domain)
#   exitcycles      smp 2   + vbhctl against a running vbh (stats JSON validated here)
#   hypranges-undefended  the same reads with the test loader's attackable=1 must succeed
#   svm-e2e, svm-failtest  tests/exit/qemu drivers: kvm_amd on vbh, NMI-kick flush;
#                   failed VMRUN (each boots its scenario with an overlay)
#   containment     smp 2   the attack suite: harnesses proven bare, then against
#                           vbh-test.bin (the test loader /lib/vbh/test/vbh.ko)
#   bench-report    smp 2   bench scenario -> out/report/report.{md,png}, checked well formed;
#                           footprint scenario at --mem 2G and 4G for its footprint rows;
#                           donate_rate without an IOMMU (issue 11's baseline)
#   gdb-session     smp 2   debug scenario under boot.sh --gdb, driven by tools/gdb/session.sh
#   build-6.1               everything built against Debian's newest 6.1 kernel
#   launch-6.1      smp 2   launch on 6.1, 10 s workload
#   containment-6.1 smp 2   the attack suite on 6.1 (attack module built against 6.1)
#   iommuhost       smp 2   host booted with intel_iommu=on: insmod refused, naming the
#                           boot parameters (docs/iommu.md)
#   reset           smp 2   five boots in one QEMU (--reboot): reset through each trapped
#                           port under vbh, RAM scanned next boot (host frames of the
#                           same reset prove the harness); S3; S5
#   amdvi           smp 2   -device amd-iommu, host booted amd_iommu=off: vbh owns the
#                           AMD-Vi unit; edu DMA into a donated frame, hypervisor pages
#                           and the unit's registers contained (each proven bare in the
#                           same boot), DMA into host memory still works (docs/iommu.md)
#   protected-vm    smp 2   issue 13: a protected KVM guest (kvm.ko rebuilt by the
#                           scenario's prepare step, cached) holds a secret while the host
#                           attacks it; every attack proven bare first (docs/protected-vm.md)
#   protected-vm-6.1        the same scenario on 6.1: vbh-vmm --protected refused by name
#   amdhost         smp 2   -device amd-iommu, host booted without amd_iommu=off (its AMD
#                           IOMMU driver owns the unit): insmod refused, naming the boot
#                           parameter (docs/iommu.md; ~10 s)
# Every scenario in
# tests/scenarios/ must be in the table below or in "outside" (step "scenario-table"), so
# none is left out of CI by accident.
# Prints the time of each step; exits 1 if any step failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
logs=$root/out/qemu/logs
secs=${VBH_QEMU_WORKLOAD_SECS:-60}
mkdir -p "$logs"

names=() results=() times=()
step() { # step NAME EXPECT(pass|fail) CMD...
  local name=$1 expect=$2 t0=$SECONDS rc res; shift 2
  echo; echo "=== $name"
  "$@"; rc=$?
  if { [ "$expect" = pass ] && [ $rc -eq 0 ]; } || { [ "$expect" = fail ] && [ $rc -eq 1 ]; }
  then res=ok; else res=FAILED; fi
  names+=("$name") results+=("$res") times+=($((SECONDS - t0)))
  echo "--- $name: $res ($((SECONDS - t0)) s)"
}

must_fail_deliberately() { # boot.sh must fail, because of the one deliberate failure
  local rc text log
  text=$(boot --scenario selftest --append vbh.selftest_fail=1 --append vbh.workload_secs=2)
  rc=$?
  echo "$text"
  log=$(sed -n 's/^log: //p' <<< "$text" | tail -n1)
  [ "$rc" = 1 ] && grep -aq 'VBH-CHECK deliberate_failure fail' "$log" &&
    grep -aqE 'VBH-DONE [1-9][0-9]* 1' "$log" && echo "boot.sh failed as it must"
}

# The scenarios this matrix boots (each by a step below); tests/scenarios/ must hold
# exactly these.
table=(selftest launch nosvm loader hypranges exitcycles logfollow nohooks svm_e2e svm_failtest
       containment bench debug iommuhost reset footprint amdvi donate_rate protected-vm amdhost)
# Scenarios booted by their own script, outside this matrix, and why.
#   kselftest  tools/kselftest/run.sh: Linux's KVM selftests, built from linux-source-6.12
#              (docs/kselftest.md gives its cost)
#   protected_vmm  tests/protected-vmm/run.sh: vbh-vmm --protected against the kvm.ko
#              of loader/kvm/build.sh (docs/vmm.md; ~76 s boot plus that build)
outside=(kselftest protected_vmm)
#   protected_bench  tests/protected-bench/run.sh: issue 13's private-fault and workload
#              figures against the kvm.ko of loader/kvm/build.sh (docs/benchmarks.md)
outside+=(protected_bench)
scenario_table() { # every file is in a table and every table entry is a file
  local f n bad=0 have=" ${table[*]} ${outside[*]} "
  for f in "$root"/tests/scenarios/*.sh; do
    n=${f##*/}; n=${n%.sh}
    case $have in *" $n "*) ;; *) echo "tests/scenarios/$n.sh: not booted by test.sh"; bad=1 ;; esac
  done
  for n in "${table[@]}" "${outside[@]}"; do
    [ -r "$root/tests/scenarios/$n.sh" ] || { echo "test.sh names $n: no tests/scenarios/$n.sh"; bad=1; }
  done
  [ $bad = 0 ] && echo "${#table[@]} scenarios, all booted below; outside: ${outside[*]}"
}

t_all=$SECONDS
step scenario-table pass scenario_table
step build pass "$root/qemu-nested/build.sh"
# Boot a private copy of what was built (even if partial): other people may rebuild
# out/qemu/initramfs.cpio.gz while the matrix runs.
initrd=$root/out/qemu/test-initramfs.cpio.gz
if cp "$root/out/qemu/initramfs.cpio.gz" "$initrd" 2>/dev/null; then
  boot() { "$root/qemu-nested/boot.sh" --no-build --initrd "$initrd" "$@"; }
  # boot_shown ARGS...: boot, its output shown as it comes and kept in $shown. Not
  # "tee /dev/stderr": that reopens stderr with O_TRUNC, which empties a log file that
  # test.sh's output is redirected to.
  boot_shown() { shown=$(boot "$@" | tee >(cat >&2)); }
  # Benchmarks are never pass/fail on time: this step fails only if the boot fails or
  # the report is missing or malformed (docs/benchmarks.md).
  # The footprint scenario at 2 and 4 GiB gives the report's other footprint rows
  # (the bench boot is the 1 GiB one); 45-80 s each.
  bench_report() {
    local log mem fp=()
    boot_shown --scenario bench || return 1
    log=$(printf '%s\n' "$shown" | sed -n 's/^log: //p' | tail -n1)
    for mem in 2G 4G; do
      boot_shown --scenario footprint --mem "$mem" || return 1
      fp+=(--footprint-log "$(printf '%s\n' "$shown" | sed -n 's/^log: //p' | tail -n1)")
    done
    # Donate + scrub with no IOMMU for vbh to own (the bench boot owns VT-d): 40-70 s.
    boot_shown --scenario donate_rate || return 1
    fp+=(--donate-log "$(printf '%s\n' "$shown" | sed -n 's/^log: //p' | tail -n1)")
    # svm-e2e (above) ran KVM's guests bare and on vbh: the report's nested section
    "$root/tools/report/run.sh" --log "$log" "${fp[@]}" --require-depriv \
      --nested "$root/out/svm/svm_e2e-smp2.log"
  }
  # exitcycles also runs vbhctl against the running vbh; the guest has no JSON parser, so
  # the stats --json it printed (VBHCTL-JSON lines) is validated here.
  exitcycles_vbhctl() {
    local log
    boot_shown --scenario exitcycles || return 1
    log=$(printf '%s\n' "$shown" | sed -n 's/^log: //p' | tail -n1)
    sed -n 's/^.*VBHCTL-JSON //p' "$log" | tr -d '\r' | python3 -m json.tool > /dev/null ||
      { echo "vbhctl stats --json printed in the guest is not valid JSON (log: $log)"; return 1; }
    echo "vbhctl stats --json printed in the guest is valid JSON"
  }
  step selftest pass boot --scenario selftest
  step selftest-must-fail pass must_fail_deliberately
  step launch-smp2 pass boot --scenario launch --smp 2 \
    --append "vbh.workload_secs=$secs"
  step launch-smp4 pass boot --scenario launch --smp 4 \
    --append "vbh.workload_secs=$(( secs / 3 > 10 ? secs / 3 : 10 ))" --append vbh.baseline_secs=5
  step nosvm pass boot --scenario nosvm
  step nonpt pass boot --scenario nosvm --cpu EPYC,+svm,-npt
  for n in loader hypranges logfollow nohooks; do step "$n" pass boot --scenario "$n"; done
  step exitcycles pass exitcycles_vbhctl
  # hypranges (above) shows every hypervisor range unreadable; the same harness with
  # the defence off (the test loader, attackable=1) must read them, or that result
  # proves nothing.
  step hypranges-undefended pass boot --scenario hypranges --append vbh.hypranges_defence=off
  step svm-e2e pass "$root/tests/exit/qemu/run.sh" 2
  step svm-failtest pass "$root/tests/exit/qemu/failtest.sh"
  step containment pass boot --scenario containment
  step bench-report pass bench_report
  step iommuhost pass boot --scenario iommuhost
  step reset pass boot --scenario reset
  step amdvi pass boot --scenario amdvi
  # Not "boot": its own initramfs comes from the scenario's prepare step (kvm.ko,
  # the attack module; --initrd would skip it). ~65 s boot, plus the kvm.ko build
  # when its inputs changed (~70 s on an idle machine).
  step protected-vm pass "$root/qemu-nested/boot.sh" --no-build --scenario protected-vm
  step amdhost pass boot --scenario amdhost
fi
# The debugging tools (docs/debugging.md): gdb stops in the hypervisor at a hypercall.
if [ -r "$root/out/qemu/initramfs.cpio.gz" ]; then
  step gdb-session pass "$root/tools/gdb/session.sh" --no-build
fi
# Debian's 6.1 kernel: built (every module against 6.1) and booted, not only compiled.
step build-6.1 pass "$root/qemu-nested/build.sh" --series 6.1
initrd61=$root/out/qemu/test-initramfs-6.1.cpio.gz
if cp "$root/out/qemu/initramfs-6.1.cpio.gz" "$initrd61" 2>/dev/null; then
  boot61() { "$root/qemu-nested/boot.sh" --no-build --series 6.1 --initrd "$initrd61" "$@"; }
  step launch-6.1 pass boot61 --scenario launch --smp 2 --append vbh.workload_secs=10 \
    --append vbh.baseline_secs=5
  step containment-6.1 pass boot61 --scenario containment
  # No guest_memfd on 6.1: vbh-vmm --protected is refused by name, exit 3 (~30 s; its
  # prepare step packs 6.1's KVM modules over the 6.1 initramfs).
  step protected-vm-6.1 pass "$root/qemu-nested/boot.sh" --no-build --series 6.1 \
    --scenario protected-vm
fi

echo
echo "qemu-nested/test.sh summary (logs: $logs):"
failed=0
for i in "${!names[@]}"; do
  printf '  %-22s %-7s %4d s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
  [ "${results[$i]}" = ok ] || failed=$((failed + 1))
done
echo "  total $((SECONDS - t_all)) s, $failed failed"
[ $failed -eq 0 ]
