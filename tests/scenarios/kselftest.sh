# shellcheck shell=dash
# boot: --smp 2 --timeout 2400 --accel tcg,thread=single --append tsc=reliable
# Linux's own KVM selftests (tools/testing/selftests/kvm of Debian's linux-source-6.12)
# against the stock kvm_amd, bare and (when asked) on top of vbh: docs/kselftest.md.
# Needs the overlay of tools/kselftest/build.sh (the tests, their list, kvm's modules);
# tools/kselftest/run.sh builds it and boots this scenario.
#   1. bare: for each mode of vbh.kselftest_modes (default 0,1) kvm_amd is loaded with
#      npt=MODE, every test of the list runs under its own timeout and gives one check
#      bare_nptMODE_<test>; kvm_amd is unloaded after the mode.
#   2. vbh.kselftest_under_vbh=1: vbh.ko is loaded and the same modes and list run again
#      (checks vbh_nptMODE_<test>), then vbh_nptMODE_no_regression: no test that passed
#      bare in that mode fails under vbh. If kvm_amd does not load on top of vbh, that is
#      one failed check per mode (vbh_nptMODE_kvm_amd) with the kernel's reason.
# tsc=reliable: under a loaded host the clocksource watchdog marks TCG's TSC unstable
# (seen once in 6 boots), the kernel leaves the TSC clocksource and kvm_clock_test skips
# ("sys_clocksource_is_based_on_tsc()"). The watchdog measures the host's load, not KVM.
# A test passes when it exits 0; KSFT_SKIP (4) is a failure here, because the list only
# holds tests that run on this CPU model (tools/kselftest/tests.list says why each is in).
KS=/lib/vbh/kselftest
KD=/lib/vbh/kvm
modes=$(param kselftest_modes 0,1 | tr ',' ' ')
under_vbh=$(param kselftest_under_vbh 0)
# Under vbh every exit a KVM guest takes costs several of vbh's world switches, each a
# full software-TLB flush under TCG (docs/benchmarks.md, "Nested SVM": 15-37x per L2
# exit on this machine). The list's timeouts are ~10x the bare time; an exit-bound test
# (coalesced_io_test, xapic_state_test) needs more than that on vbh, so there its
# timeout is multiplied by this factor. Each check still shows the test's own time.
vbh_slowdown=$(param kselftest_vbh_slowdown 4)
if [ ! -r "$KS/list" ] || [ ! -r "$KD/kvm-amd.ko" ]; then
  fail kselftest_overlay "no $KS/list or $KD/kvm-amd.ko: boot with tools/kselftest/run.sh"
  exit 0
fi
info "kselftest: $(cat "$KS/build-info"); $(wc -l < "$KS/list") tests; modes npt=$modes; under_vbh=$under_vbh"
check cpu_has_svm cpu_has svm

kvm_base() { # irqbypass, ccp, kvm: loaded once, kept across modes
  local m
  for m in irqbypass ccp kvm; do
    [ -d "/sys/module/$m" ] && continue
    insmod "$KD/$m.ko" > /tmp/vbh/ks-mod.out 2>&1 || { cat /tmp/vbh/ks-mod.out; return 1; }
  done
}

kvm_amd_load() { # kvm_amd_load NPT: insmod kvm_amd npt=NPT; it must say what it was given
  local want=N got
  [ "$1" = 1 ] && want=Y
  kvm_base || return 1
  insmod "$KD/kvm-amd.ko" "npt=$1" > /tmp/vbh/ks-mod.out 2>&1 || { cat /tmp/vbh/ks-mod.out; return 1; }
  got=$(cat /sys/module/kvm_amd/parameters/npt)
  [ "$got" = "$want" ] || { echo "npt reads $got, want $want"; return 1; }
  echo "kvm_amd npt=$got, /dev/kvm $([ -c /dev/kvm ] && echo present || echo MISSING)"
}

kvm_amd_unload() { # nothing may keep kvm_amd: every test has exited by now
  [ -d /sys/module/kvm_amd ] || return 0
  rmmod kvm_amd 2>&1
}

run_test() { # run_test PREFIX TEST TIMEOUT ARGS: one check; appends "name result secs" to
  # /tmp/vbh/ks-PREFIX. 137: SIGKILL, from the timeout or the OOM killer.
  local prefix=$1 t=$2 to=$3 args=$4 name t0 secs rc res detail
  name=${t##*/}
  t0=$(now_ms)
  # shellcheck disable=SC2086 # args are words
  timeout -s KILL "$to" "$KS/bin/$t" $args < /dev/null > /tmp/vbh/ks.out 2>&1
  rc=$?
  secs=$(ratio $(($(now_ms) - t0)) 1000 %.1f)
  case $rc in
    0) res=pass detail="passed" ;;
    4) res=skip detail="skipped: $(grep -m1 -iE 'skip' /tmp/vbh/ks.out)" ;;
    137) if [ $(($(now_ms) - t0)) -ge $((to * 1000)) ]; then
           res=timeout detail="killed after the ${to} s timeout"
         else  # SIGKILL before the timeout: the OOM killer (the kernel log says)
           res=fail detail="killed: $(dmesg | grep -m1 -o 'Out of memory: Killed process [0-9]* ([^)]*)')"
         fi ;;
    *) res=fail detail="exit $rc: $(grep -m1 -E 'Assertion|failed|FAIL|not ok' /tmp/vbh/ks.out)" ;;
  esac
  echo "$name $res $secs" >> "/tmp/vbh/ks-$prefix"
  if [ $res = pass ]; then pass "${prefix}_$name" "$secs s $args"
  else
    fail "${prefix}_$name" "$detail ($secs s)"
    tail -n 12 /tmp/vbh/ks.out | sed 's/^/  | /'  # for the log, not the protocol
  fi
}

run_list() { # run_list PREFIX NPT: every test of the list for that npt mode, then a summary
  local prefix=$1 t to tm args _why t0 n p
  : > "/tmp/vbh/ks-$prefix"
  t0=$(now_ms)
  while IFS='|' read -r t to tm args _why; do
    t=$(echo "$t" | tr -d ' ') to=$(echo "$to" | tr -d ' ') tm=$(echo "$tm" | tr -d ' ')
    [ "${prefix%%_*}" = vbh ] && to=$((to * vbh_slowdown))
    case ",$tm," in *",$2,"*) run_test "$prefix" "$t" "$to" "$args" ;; esac
  done < "$KS/list"
  n=$(wc -l < "/tmp/vbh/ks-$prefix")
  p=$(grep -c ' pass ' "/tmp/vbh/ks-$prefix")
  info "$prefix: $p/$n passed, $(grep -c ' fail ' "/tmp/vbh/ks-$prefix") failed," \
    "$(grep -c ' skip ' "/tmp/vbh/ks-$prefix") skipped, $(grep -c ' timeout ' "/tmp/vbh/ks-$prefix") timed out"
  metric "${prefix}_passed" "$p" tests
  metric "${prefix}_secs" "$(ratio $(($(now_ms) - t0)) 1000 %.0f)" s
}

run_modes() { # run_modes bare|vbh: every mode, kvm_amd loaded for it and unloaded after
  local where=$1 m mark out
  for m in $modes; do
    mark=$(dmesg_mark)
    if ! out=$(kvm_amd_load "$m"); then
      fail "${where}_npt${m}_kvm_amd" "insmod kvm-amd npt=$m: $out" \
        "$(dmesg_since "$mark" | grep -m1 -iE 'failed|SVM disabled|disabled by bios|not supported')"
      continue
    fi
    pass "${where}_npt${m}_kvm_amd" "$out"
    run_list "${where}_npt$m" "$m"
    check "${where}_npt${m}_kvm_amd_unload" kvm_amd_unload
    dmesg_clean "${where}_npt${m}_kernel_log_clean" "$mark"
  done
}

no_regression() { # no_regression MODE: every test that passed bare passes under vbh
  local bad
  bad=$(awk 'NR == FNR { if ($2 == "pass") bare[$1] = 1; next }
             bare[$1] && $2 != "pass" { printf "%s(%s) ", $1, $2 }' \
        "/tmp/vbh/ks-bare_npt$1" "/tmp/vbh/ks-vbh_npt$1" 2> /dev/null)
  if [ ! -r "/tmp/vbh/ks-vbh_npt$1" ]; then fail "vbh_npt$1_no_regression" "no test ran under vbh"
  elif [ -z "$bad" ]; then
    pass "vbh_npt$1_no_regression" "every test that passed bare passed under vbh"
  else fail "vbh_npt$1_no_regression" "passed bare, not under vbh: $bad"; fi
}

run_modes bare
if [ "$under_vbh" != 1 ]; then
  info "under vbh: not run (boot with vbh.kselftest_under_vbh=1)"
  exit 0
fi
# kvm_amd keeps EFER.SVME set while loaded (6.12 enables virtualization at load), so it
# is unloaded (run_modes did) before vbh takes the CPUs.
if ! out=$(insmod /lib/vbh/vbh.ko 2>&1); then fail kselftest_insmod_vbh "$out"; exit 0; fi
check_status kselftest_vbh_status /sys/kernel/vbh/status
run_modes vbh
for m in $modes; do no_regression "$m"; done
check_status kselftest_vbh_status_after /sys/kernel/vbh/status
# The host's VMRUNs vbh refused while the tests ran (docs/nested.md, "What is
# refused"): a legit protected VM meets no protected_* refusal (docs/protected-vm.md,
# "Authoritative vCPU state"). The last few go to the console for the log.
refused=$(grep -c '^seq=.*kind=vmrun_refused' /sys/kernel/vbh/log 2> /dev/null)
grep '^seq=.*kind=vmrun_refused' /sys/kernel/vbh/log 2> /dev/null | tail -n 5 | while read -r l; do
  info "vbh log: $l"
done
metric kselftest_vmrun_refused "${refused:-0}" entries
