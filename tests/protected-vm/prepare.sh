#!/usr/bin/env bash
# The prepare step of the protected-vm and protected_vmm scenarios: qemu-nested/boot.sh
# runs it (their "# prepare:" header) after its own build and boots the initramfs it
# names on stdout.
#   tests/protected-vm/prepare.sh SCENARIO SERIES
# 6.12: builds kvm.ko with CONFIG_KVM_SW_PROTECTED_VM and vbh's protected-VM patch
# (loader/kvm/build.sh: cached, "up to date" in seconds). Both series: an overlay with
# the booted kernel's own irqbypass, ccp, kvm and kvm-amd modules in /lib/vbh/kvm/, the
# rebuilt kvm.ko as kvm-protected.ko (6.12), and fresh copies of the scenario, its
# helpers and (6.12) vbh_attack.ko (so a scenario edit needs no qemu-nested/build.sh), on top
# of qemu-nested's initramfs: out/protected-vm/initramfs-SCENARIO[-6.1].cpio.gz.
# Progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ $# = 2 ] || { echo "usage: $0 SCENARIO 6.12|6.1" >&2; exit 2; }
scenario=$1 series=$2
sfx=''; [ "$series" = 6.12 ] || sfx=-$series
out=$root/out/protected-vm
base=$root/out/qemu/initramfs$sfx.cpio.gz
[ -r "$base" ] && [ -r "$root/out/qemu/kernel$sfx.env" ] ||
  { echo "prepare: no $base: run qemu-nested/build.sh --series $series" >&2; exit 1; }
# shellcheck source=/dev/null
. "$root/out/qemu/kernel$sfx.env"
mkdir -p "$out"
st=$out/overlay-$scenario$sfx
rm -rf "$st" && mkdir -p "$st/lib/vbh/scenarios" "$st/lib/vbh/kvm" "$st/lib/vbh/modules"
if [ "$series" = 6.12 ]; then
  "$root/loader/kvm/build.sh" >&2
  cp "$root/out/kvm/kvm.ko" "$st/lib/vbh/kvm/kvm-protected.ko"
fi
for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
  f=/lib/modules/$KVER/kernel/$m.ko  # 6.12's modules are xz-compressed, 6.1's are not
  if [ -r "$f.xz" ]; then xz -dc "$f.xz" > "$st/lib/vbh/kvm/${m##*/}.ko"; else cp "$f" "$st/lib/vbh/kvm/"; fi
done
cp "$root/tests/scenarios/$scenario.sh" "$st/lib/vbh/scenarios/"
"$root/tests/protected-vm/build.sh" "$st/lib/vbh/bin" >&2
if [ "$series" = 6.12 ]; then  # 6.1 runs only the refusal, with its initramfs's own
  atk=$root/tests/guest-modules/attack
  make -s -C "$KDIR" M="$atk" modules >&2
  cp "$atk/vbh_attack.ko" "$st/lib/vbh/modules/"
fi
# Concatenated gzip'd cpio archives: the kernel unpacks them in order, the overlay last.
(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$st.cpio.gz"
cat "$base" "$st.cpio.gz" > "$out/initramfs-$scenario$sfx.tmp"
mv "$out/initramfs-$scenario$sfx.tmp" "$out/initramfs-$scenario$sfx.cpio.gz"
echo "$out/initramfs-$scenario$sfx.cpio.gz"
