#!/usr/bin/env bash
# Boot the protected_bench scenario (tests/scenarios/protected_bench.sh): issue 13's
# bench figures, a protected guest's first touch of a private page and its workload
# against an ordinary guest's, bare and on vbh, in one boot (docs/benchmarks.md,
# "Protected guests"). Not part of CI: it needs the kvm.ko of loader/kvm/build.sh
# (minutes of build per change of its inputs) and about 4-8 minutes of QEMU TCG.
#   tests/protected-bench/run.sh [--no-build] [--kvm-ko FILE] [BOOT.SH ARGS...]
# --kvm-ko: the rebuilt kvm.ko (default out/kvm/kvm.ko, built by loader/kvm/build.sh).
# Builds qemu-nested's initramfs unless --no-build, boots it with an overlay (Debian's
# irqbypass, ccp and kvm-amd modules of the booted kernel, FILE as kvm-protected.ko)
# and copies the serial log to out/protected-bench/last.log, where tools/report/run.sh
# finds it for the report's "Protected guests" section.
# Boot options: --append "vbh.touch_pages=N vbh.touch_reps=R" (1024, 3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/out/protected-bench
build=1 kvm_ko='' args=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --kvm-ko) kvm_ko=$(realpath "${2:?--kvm-ko needs a file}"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"
if [ -z "$kvm_ko" ]; then
  kvm_ko=$root/out/kvm/kvm.ko
  "$root/loader/kvm/build.sh"
fi
[ -r "$kvm_ko" ] || { echo "no $kvm_ko: pass --kvm-ko FILE (loader/kvm/build.sh)" >&2; exit 2; }
if [ $build = 1 ]; then
  "$root/qemu-nested/build.sh" > "$out/qemu-build.log" 2>&1 ||
    { tail -n 20 "$out/qemu-build.log"; echo "qemu-nested/build.sh failed ($out/qemu-build.log)"; exit 1; }
fi
# shellcheck source=/dev/null
. "$root/out/qemu/kernel.env"
st=$out/overlay
rm -rf "$st" && mkdir -p "$st/lib/vbh/scenarios" "$st/lib/vbh/kvm"
cp "$root/tests/scenarios/protected_bench.sh" "$st/lib/vbh/scenarios/"
for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd; do
  xz -dc "/lib/modules/$KVER/kernel/$m.ko.xz" > "$st/lib/vbh/kvm/${m##*/}.ko"
done
cp "$kvm_ko" "$st/lib/vbh/kvm/kvm-protected.ko"
# Concatenated gzip'd cpio archives: the kernel unpacks them in order, the overlay last.
(cd "$st" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$out/overlay.cpio.gz"
cat "$root/out/qemu/initramfs.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.cpio.gz"
rc=0
"$root/qemu-nested/boot.sh" --no-build --initrd "$out/initramfs.cpio.gz" \
  --scenario protected_bench "${args[@]}" 2>&1 | tee "$out/boot.out" || rc=$?
log=$(sed -n 's/^log: //p' "$out/boot.out" | tail -n1)
[ -n "$log" ] && [ -r "$log" ] && cp "$log" "$out/last.log"
exit $rc
