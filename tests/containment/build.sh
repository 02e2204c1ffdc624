#!/usr/bin/env bash
# Build the containment suite's guest files and an initramfs overlay:
#   out/containment/overlay.cpio.gz  = /lib/vbh/containment/{lib,mem,svm,hc}.sh, vbh_ring3,
#       and (fresh copies of) the containment scenario and vbh_attack.ko
#   out/containment/initramfs.cpio.gz = out/qemu/initramfs.cpio.gz + that overlay
# (Linux unpacks concatenated cpio archives in order, later files win.) KDIR comes from
# out/qemu/kernel.env, written by qemu-nested/build.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/out/containment
st=$out/overlay
rm -rf "$st"; mkdir -p "$st/lib/vbh/containment"
cp "$root"/tests/containment/guest/*.sh "$st/lib/vbh/containment/"
gcc -static -O2 -Wall -Werror -o "$st/lib/vbh/containment/vbh_ring3" "$root/tests/containment/ring3.c"
mkdir -p "$st/lib/vbh/scenarios" "$st/lib/vbh/modules"
cp "$root/qemu-nested/guest/scenarios/containment.sh" "$st/lib/vbh/scenarios/"
# shellcheck source=/dev/null
. "$root/out/qemu/kernel.env"
make -s -C "$KDIR" M="$root/tests/guest-modules/attack" modules
cp "$root/tests/guest-modules/attack/vbh_attack.ko" "$st/lib/vbh/modules/"
(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$out/overlay.cpio.gz"
cat "$root/out/qemu/initramfs.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.tmp"
mv "$out/initramfs.tmp" "$out/initramfs.cpio.gz"
echo "containment: overlay $(du -h "$out/overlay.cpio.gz" | cut -f1)"
