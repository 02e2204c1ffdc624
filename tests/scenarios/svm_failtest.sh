# shellcheck shell=dash
# Guest scenario for vbh-failtest.bin (failtest.sh): the first VMRUN on CPU 1 fails its
# consistency checks (ASID 0). launch() must return the error with CPU 1 as it was,
# the loader rolls CPU 0 back with VBH_HC_DEVIRT, and Linux carries on natively on
# both CPUs, twice in a row.
ko=/lib/vbh/vbh.ko
CTL=/sys/kernel/debug/vbh_attack/ctl
atk() { if echo "$*" > "$CTL" 2>/dev/null; then cat "$CTL"; else echo "result=error"; fi; }
mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
insmod "$(find /lib/vbh -name vbh_attack.ko | head -n1)" 2>/dev/null
for try in 1 2; do
  mark=$(dmesg_mark)
  if insmod "$ko" > /tmp/vbh/insmod.out 2>&1; then
    fail "insmod_refused_$try" "vbh.ko loaded although CPU 1 cannot enter the guest"; exit 0
  fi
  pass "insmod_refused_$try" "$(tr '\n' ' ' < /tmp/vbh/insmod.out)"
  log=$(dmesg_since "$mark")
  if echo "$log" | grep -q "CPU 0 returned to host mode" && echo "$log" | grep -q "CPU 1.*VBH_E_STATE\|CPU 1 could not be launched"; then
    pass "rolled_back_$try" "$(echo "$log" | grep -E 'CPU 1|returned' | tr '\n' ' ' | cut -c1-200)"
  else
    fail "rolled_back_$try" "$(echo "$log" | tail -n4 | tr '\n' ' ')"
  fi
  for c in 0 1; do
    r=$(atk @$c hc 0 0 0 0 0)
    case $r in *"trap=6"*) pass "cpu${c}_native_$try" "VMMCALL #UD: no hypervisor" ;;
      *) fail "cpu${c}_native_$try" "$(echo "$r" | tr '\n' ' ')" ;; esac
  done
done
workload after_rollback 10
dmesg_clean kernel_log_clean "$mark"
