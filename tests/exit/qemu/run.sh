#!/usr/bin/env bash
# End-to-end checks of the SVM backend under QEMU TCG (svm_e2e.sh): vbh-vmm's guest runs
# on the bare kernel's kvm_amd (docs/vmm.md); then kvm_amd loads on top of vbh (the
# host's SVM emulated), unloads and loads again, the host's VMSAVE/VMLOAD work on its
# own pages and are refused on vbh's, a VM and a vCPU can be created; and a donate on
# CPU 0 kicks CPU 1 (NMI exit) so that CPU 1 faults on the frame at once, then reads it
# again after reclaim. vbh's nested-state gauges must be nonzero after each guest run
# and 0 on every CPU after kvm_amd's unload and after a VM's teardown with
# kvm.enable_virt_at_load=0 (docs/nested.md, "State and teardown"). Boots qemu-nested's initramfs plus an overlay (this scenario, the
# running kernel's kvm modules decompressed, kvmprobe built static here). Needs
# qemu-nested/build.sh to have run (out/qemu/).
#   tests/exit/qemu/run.sh [SMP]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
smp=${1:-2}
out=$root/out/svm
. "$root/out/qemu/kernel.env"
st=$out/overlay
rm -rf "$st" && mkdir -p "$st/lib/vbh/scenarios" "$st/lib/vbh/kvm" "$st/lib/vbh/bin"
cp "$root/tests/scenarios/svm_e2e.sh" "$st/lib/vbh/scenarios/"
gcc -static -O2 -Wall -o "$st/lib/vbh/bin/kvmprobe" "$root/tests/exit/qemu/kvmprobe.c"
for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
  xz -dc "/lib/modules/$KVER/kernel/$m.ko.xz" > "$st/lib/vbh/kvm/${m##*/}.ko"
done
(cd "$st" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$out/overlay.cpio.gz"
cat "$root/out/qemu/initramfs.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.cpio.gz"
log=$out/svm_e2e-smp$smp.log
timeout 300 qemu-system-x86_64 -accel tcg -M q35 -cpu EPYC,+svm,+npt -smp "$smp" -m 1G \
  -device intel-iommu,aw-bits=48 -nographic -no-reboot -kernel "$VMLINUZ" -initrd "$out/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 intel_iommu=off intremap=off no_timer_check vbh.scenario=svm_e2e" \
  < /dev/null > "$log" 2>&1 || true
grep -E '^(VBH-CHECK|VBH-DONE|vbh-hyp)' "$log" || true
fails=$(grep -c '^VBH-CHECK [^ ]* fail' "$log" || true)
passes=$(grep -c '^VBH-CHECK [^ ]* pass' "$log" || true)
grep -q '^VBH-DONE' "$log" && [ "$fails" = 0 ] && [ "$passes" -gt 0 ] || { echo "FAIL (log: $log)"; exit 1; }
echo "PASS: $passes checks (log: $log)"
