# shellcheck shell=dash
# Guest scenario (sourced by qemu-nested's /init with its lib.sh): after vbh has
# deprivileged every CPU, the host's own kvm_amd must refuse to load cleanly because
# VM_CR reads SVMDIS | LOCK (vbh/core/include/vbh/exit_msr.hpp), and the host must carry
# on: no oops, the hypervisor still answers. Packed by run.sh with kvm's modules.
# Kernels that read VM_CR say "SVM disabled (by BIOS)"; 6.12 no longer does and
# refuses because EFER.SVME is already set ("enabling virtualization on CPU0 failed"):
# either refusal counts, a loaded kvm_amd does not.
ko=/lib/vbh/vbh.ko
kd=/lib/vbh/kvm
check cpu_has_svm cpu_has svm
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
why='SVM disabled|enabling virtualization on CPU[0-9]* failed'
if dmesg_since "$mark" | grep -Eq "$why"; then
  pass kvm_amd_reason "$(dmesg_since "$mark" | grep -E "$why" | head -n1)"
else
  fail kvm_amd_reason "no refusal reason in the kernel log: $(dmesg_since "$mark" | tail -n3)"
fi
check_status status_after /sys/kernel/vbh/status
dmesg_clean kernel_log_clean "$mark"
