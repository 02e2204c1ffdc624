#!/usr/bin/env bash
# Boot the protected_vmm scenario (tests/scenarios/protected_vmm.sh): vbh-vmm's secret
# stage (docs/vmm.md, "--protected") on the bare kernel with a kvm.ko built with
# CONFIG_KVM_SW_PROTECTED_VM, and the refusal on Debian's own kvm.ko. Not part of CI
# (tests/run-all.sh): about 2-4 minutes of QEMU TCG.
#   tests/protected-vmm/run.sh [--no-build] [--kvm-ko FILE] [BOOT.SH ARGS...]
# --kvm-ko: the rebuilt kvm.ko (default out/kvm/kvm.ko, built by loader/kvm/build.sh
# when that script exists). Builds qemu-nested's initramfs unless --no-build, then
# boots it (vbh-vmm is in it) with an overlay: the scenario, Debian's irqbypass,
# ccp, kvm and kvm-amd modules of the booted kernel, and FILE as kvm-protected.ko.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/out/protected-vmm
build=1 kvm_ko='' args=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --kvm-ko) kvm_ko=$(realpath "${2:?--kvm-ko needs a file}"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
if [ -z "$kvm_ko" ]; then
  kvm_ko=$root/out/kvm/kvm.ko
  if [ -x "$root/loader/kvm/build.sh" ]; then "$root/loader/kvm/build.sh"; fi
fi
[ -r "$kvm_ko" ] || { echo "no $kvm_ko: pass --kvm-ko FILE (loader/kvm/build.sh)" >&2; exit 2; }
if [ $build = 1 ]; then
  mkdir -p "$out"
  "$root/qemu-nested/build.sh" > "$out/qemu-build.log" 2>&1 ||
    { tail -n 20 "$out/qemu-build.log"; echo "qemu-nested/build.sh failed ($out/qemu-build.log)"; exit 1; }
fi
# shellcheck source=/dev/null
. "$root/out/qemu/kernel.env"
st=$out/overlay
rm -rf "$st" && mkdir -p "$st/lib/vbh/scenarios" "$st/lib/vbh/kvm"
cp "$root/tests/scenarios/protected_vmm.sh" "$st/lib/vbh/scenarios/"
for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
  xz -dc "/lib/modules/$KVER/kernel/$m.ko.xz" > "$st/lib/vbh/kvm/${m##*/}.ko"
done
cp "$kvm_ko" "$st/lib/vbh/kvm/kvm-protected.ko"
# Concatenated gzip'd cpio archives: the kernel unpacks them in order, the overlay last.
(cd "$st" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$out/overlay.cpio.gz"
cat "$root/out/qemu/initramfs.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.cpio.gz"
exec "$root/qemu-nested/boot.sh" --no-build --initrd "$out/initramfs.cpio.gz" \
  --scenario protected_vmm "${args[@]}"
