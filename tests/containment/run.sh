#!/usr/bin/env bash
# Run the containment suite under QEMU TCG with qemu-nested's pipeline.
#   tests/containment/run.sh [bare|vbh] [--no-qemu-build] [boot.sh options...]
# bare: prove every attack harness on a kernel without vbh (all must succeed).
# vbh:  the same proofs, then every attack against vbh (default when vbh.ko builds).
# Exit status is boot.sh's: 0 only if every check passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-vbh}; [ $# -gt 0 ] && shift
mkdir -p "$root/out/containment"
if [ "${1:-}" = --no-qemu-build ]; then shift
else # qemu-nested's initramfs (busybox, /init, vbh.ko, modules); bare runs need no vbh.ko
  "$root/qemu-nested/build.sh" > "$root/out/containment/qemu-build.log" 2>&1 ||
    { tail -n 20 "$root/out/containment/qemu-build.log"; [ "$mode" = bare ] || exit 1; }
fi
"$root/tests/containment/build.sh"
exec "$root/qemu-nested/boot.sh" --no-build --scenario containment \
  --append "vbh.containment=$mode" \
  --initrd "$root/out/containment/initramfs.cpio.gz" "$@"
