# shellcheck shell=dash
# Guest scenario (sourced by qemu-nested's /init with its lib.sh). 1. After vbh has
# deprivileged every CPU, the host's own kvm_amd must refuse to load cleanly because
# VM_CR reads SVMDIS | LOCK (vbh/core/include/vbh/exit_msr.hpp), and the host must carry
# on: no oops, the hypervisor still answers. Packed by run.sh with kvm's modules.
# Kernels that read VM_CR say "SVM disabled (by BIOS)"; 6.12 no longer does and
# refuses because EFER.SVME is already set ("enabling virtualization on CPU0 failed"):
# either refusal counts, a loaded kvm_amd does not. 2. Cross-CPU invalidation (below).
# 0. First, on the bare kernel: kvm_amd on QEMU's emulated SVM runs vbh-vmm's guest
# (vmm_run, lib.sh), its checks and L2 round-trip figures; then KVM is unloaded again.
ko=/lib/vbh/vbh.ko
kd=/lib/vbh/kvm
check cpu_has_svm cpu_has svm

kvm_load() { # kvm_load: insmod KVM and kvm_amd; 1 (and a failed check NAME) if not
  local m
  for m in irqbypass ccp kvm kvm-amd; do
    insmod "$kd/$m.ko" > /tmp/vbh/kvm.out 2>&1 ||
      { fail "$1" "insmod $m: $(cat /tmp/vbh/kvm.out) $(dmesg | tail -n3)"; return 1; }
  done
}
kvm_unload() { # kvm_unload NAME: rmmod what kvm_load loaded
  local m
  for m in kvm_amd kvm ccp irqbypass; do
    rmmod "$m" > /tmp/vbh/kvm.out 2>&1 || { fail "$1" "rmmod $m: $(cat /tmp/vbh/kvm.out)"; return 1; }
  done
  pass "$1" "kvm_amd kvm ccp irqbypass"
}
vmm_mark=$(dmesg_mark)
if kvm_load kvm_bare_load; then
  check kvm_bare_dev test -c /dev/kvm
  vmm_run bare --iterations "$(param vmm_iterations 2000)"
  kvm_unload kvm_bare_unload
fi
dmesg_clean kernel_log_clean_bare_kvm "$vmm_mark"
mark=$(dmesg_mark)
if ! insmod "$ko" > /tmp/vbh/insmod.out 2>&1; then
  fail insmod "$(cat /tmp/vbh/insmod.out)"; exit 0
fi
check_status status /sys/kernel/vbh/status
for m in irqbypass ccp kvm; do
  if insmod "$kd/$m.ko" > /tmp/vbh/kvm.out 2>&1; then pass "insmod_$m" loaded
  else fail "insmod_$m" "$(cat /tmp/vbh/kvm.out)"; fi
done
if insmod "$kd/kvm-amd.ko" > /tmp/vbh/kvm.out 2>&1; then
  fail kvm_amd_refused "kvm_amd loaded on top of vbh: $(dmesg_since "$mark" | tail -n3)"
else
  pass kvm_amd_refused "$(cat /tmp/vbh/kvm.out | tr '\n' ' ')"
fi
# When kvm_amd loads on top of vbh (nested SVM, issue 12), the same guest runs here with
# the one line `vmm_run vbh --iterations "$(param vmm_iterations 2000)"`: its checks
# must equal the bare run's (vmm_vbh_same_as_bare) and its figures sit next to them.
why='SVM disabled|enabling virtualization on CPU[0-9]* failed'
if dmesg_since "$mark" | grep -Eq "$why"; then
  pass kvm_amd_reason "$(dmesg_since "$mark" | grep -E "$why" | head -n1)"
else
  fail kvm_amd_reason "no refusal reason in the kernel log: $(dmesg_since "$mark" | tail -n3)"
fi
check_status status_after /sys/kernel/vbh/status

# Cross-CPU invalidation: CPU 1 spins in guest mode; CPU 0 donates a frame CPU 1 has
# just read. The donate must kick CPU 1 (NMI exit, swallowed), after which CPU 1's read
# faults (#GP from the NPF) and is logged; after reclaim CPU 1 reads again.
CTL=/sys/kernel/debug/vbh_attack/ctl
atk() { if echo "$*" > "$CTL" 2>/dev/null; then cat "$CTL"; else echo "result=error"; fi; }
st() { grep "^cpu=$1 " /sys/kernel/vbh/stats | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
if insmod "$(find /lib/vbh -name vbh_attack.ko | head -n1)" 2>/dev/null && [ -w "$CTL" ]; then
  f=$(kv pfn "$(atk alloc 0)")
  dom=$(kv out0 "$(atk @0 hc 0x10 0 0 0 0)")
  taskset -c 1 sh -c 'while :; do :; done' & spin=$!
  r0=$(atk @1 dmap_read "$f")
  sent=$(st 0 kicks_sent) taken=$(st 1 kicks_taken)
  d=$(atk @0 hc 0x22 "$f" 1 "$dom" 0)
  r1=$(atk @1 dmap_read "$f")
  sent2=$(st 0 kicks_sent) taken2=$(st 1 kicks_taken)
  c=$(atk @0 hc 0x23 "$f" 1 "$dom" 0)
  r2=$(atk @1 dmap_read "$f")
  kill $spin
  info "frame $f dom $dom: before=$(kv result "$r0") donate=$(kv status "$d") while_donated=$(kv result "$r1") reclaim=$(kv status "$c") after=$(kv result "$r2")"
  [ "$(kv result "$r0")" = read ] && [ "$(kv status "$d")" = 0 ] && [ "$(kv result "$r1")" = fault ] \
    && [ "$(kv status "$c")" = 0 ] && [ "$(kv result "$r2")" = read ] \
    && pass donate_blocks_other_cpu "read, donate, fault on CPU 1, reclaim, read" \
    || fail donate_blocks_other_cpu "before=$r0 donate=$d during=$r1 reclaim=$c after=$r2"
  if [ "${sent2:-0}" -gt "${sent:-0}" ] && [ "${taken2:-0}" -gt "${taken:-0}" ]; then
    pass nmi_kick "cpu0 kicks_sent $sent -> $sent2, cpu1 kicks_taken $taken -> $taken2"
  else
    fail nmi_kick "cpu0 kicks_sent $sent -> $sent2, cpu1 kicks_taken $taken -> $taken2"
  fi
  info "stats: $(cat /sys/kernel/vbh/stats | tr '\n' '|')"
else
  fail attack_module "vbh_attack.ko not loadable"
fi
dmesg_clean kernel_log_clean "$mark"
