#!/usr/bin/env bash
# End-to-end test of the failed-first-VMRUN rollback: build vbh-failtest.bin (its first
# VMRUN on CPU 1 fails with VMEXIT_INVALID), a copy of the loader embedding it, and
# boot qemu-nested's initramfs with that vbh.ko and svm_failtest.sh on top.
# Needs qemu-nested/build.sh to have run (out/qemu/).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=$root/out/svm
. "$root/out/qemu/kernel.env"
mkdir -p "$out"
cmake -S "$root" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVBH_SANITIZE=OFF \
  -DVBH_BENCH=OFF > "$out/cmake.log"
cmake --build "$out/build" --target vbh_image_failtest > "$out/build.log"
img=$out/build/vbh/image/vbh-failtest.bin
ld=$out/loader-failtest
rm -rf "$ld" && mkdir -p "$ld"
cp "$root"/loader/*.c "$root"/loader/*.h "$root"/loader/*.S "$root"/loader/Kbuild "$ld/"
make -C "$KDIR" M="$ld" VBH_ROOT="$root" VBH_IMAGE="$img" modules > "$out/loader.log" 2>&1 ||
  { tail -n 20 "$out/loader.log"; exit 1; }
st=$out/overlay-failtest
rm -rf "$st" && mkdir -p "$st/lib/vbh/scenarios"
cp "$ld/vbh.ko" "$st/lib/vbh/vbh.ko"
cp "$root/tests/scenarios/svm_failtest.sh" "$st/lib/vbh/scenarios/"
(cd "$st" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$out/overlay-failtest.cpio.gz"
cat "$root/out/qemu/initramfs.cpio.gz" "$out/overlay-failtest.cpio.gz" > "$out/initramfs-failtest.cpio.gz"
log=$out/svm_failtest-smp2.log
timeout 300 qemu-system-x86_64 -accel tcg -M q35 -cpu EPYC,+svm,+npt -smp 2 -m 1G \
  -device intel-iommu,aw-bits=48 -nographic -no-reboot -kernel "$VMLINUZ" \
  -initrd "$out/initramfs-failtest.cpio.gz" \
  -append "console=ttyS0 panic=-1 intel_iommu=off intremap=off no_timer_check vbh.scenario=svm_failtest" \
  < /dev/null > "$log" 2>&1 || true
grep -E '^(VBH-CHECK|VBH-DONE|vbh-hyp)' "$log" || true
n=$(grep -c 'vbh-hyp: VMRUN failed (VMEXIT_INVALID) on cpu 1, rolled back' "$log" || true)
fails=$(grep -c '^VBH-CHECK [^ ]* fail' "$log" || true)
passes=$(grep -c '^VBH-CHECK [^ ]* pass' "$log" || true)
if grep -q '^VBH-DONE' "$log" && [ "$fails" = 0 ] && [ "$passes" -gt 0 ] && [ "$n" -ge 2 ]; then
  echo "PASS: $passes checks, $n VMEXIT_INVALID rollbacks (log: $log)"
else
  echo "FAIL: $passes passed, $fails failed, $n hypervisor rollback lines (log: $log)"; exit 1
fi
