#!/usr/bin/env bash
# Build the containment suite's guest files.
#   tests/containment/build.sh OUTDIR   qemu-nested's guest-program interface: vbh_ring3
#       and the guest libraries (containment-*.sh, executable) into OUTDIR, which
#       qemu-nested/build.sh packs into /lib/vbh/bin.
#   tests/containment/build.sh          an initramfs overlay for runs before that is wired:
#       out/containment/initramfs.cpio.gz = out/qemu/initramfs.cpio.gz + /lib/vbh/bin/
#       files above + fresh copies of the containment scenario and vbh_attack.ko (Linux
#       unpacks concatenated cpio archives in order; later files win). KDIR comes from
#       out/qemu/kernel.env, written by qemu-nested/build.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

guest_files() { # guest_files DIR
  local f
  mkdir -p "$1"
  for f in "$root"/tests/scenarios/containment/*.sh; do
    install -m 755 "$f" "$1/containment-${f##*/}"
  done
  gcc -static -O2 -Wall -Werror -o "$1/vbh_ring3" "$root/tests/containment/ring3.c"
}

if [ $# -gt 0 ]; then guest_files "$1"; exit 0; fi

out=$root/out/containment
st=$out/overlay
rm -rf "$st"
guest_files "$st/lib/vbh/bin"
mkdir -p "$st/lib/vbh/scenarios" "$st/lib/vbh/modules"
cp "$root/tests/scenarios/containment.sh" "$st/lib/vbh/scenarios/"
# shellcheck source=/dev/null
. "$root/out/qemu/kernel.env"
make -s -C "$KDIR" M="$root/tests/guest-modules/attack" modules
cp "$root/tests/guest-modules/attack/vbh_attack.ko" "$st/lib/vbh/modules/"
(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$out/overlay.cpio.gz"
cat "$root/out/qemu/initramfs.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.tmp"
mv "$out/initramfs.tmp" "$out/initramfs.cpio.gz"
echo "containment: $out/initramfs.cpio.gz (overlay $(du -h "$out/overlay.cpio.gz" | cut -f1))"
