#!/usr/bin/env bash
# Run the containment suite under QEMU TCG with qemu-nested's pipeline.
#   tests/containment/run.sh [bare|vbh] [--dev] [boot.sh options...]
# bare: prove every attack harness on a kernel without vbh (all must succeed).
# vbh:  the same proofs, then every attack against vbh (the default).
# qemu-nested/build.sh packs everything (vbh_attack.ko as a tests/guest-modules/ module,
# the guest files through tests/containment/build.sh OUTDIR). --dev skips that build and
# boots out/qemu's last initramfs with a fresh overlay of this suite's files instead.
# Exit status is boot.sh's: 0 only if every check passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-vbh}; [ $# -gt 0 ] && shift
if [ "${1:-}" = --dev ]; then
  shift
  "$root/tests/containment/build.sh"
  set -- --initrd "$root/out/containment/initramfs.cpio.gz" "$@"
else
  mkdir -p "$root/out/containment"
  "$root/qemu-nested/build.sh" > "$root/out/containment/qemu-build.log" 2>&1 ||
    { tail -n 20 "$root/out/containment/qemu-build.log"; [ "$mode" = bare ] || exit 1; }
fi
exec "$root/qemu-nested/boot.sh" --no-build --scenario containment \
  --append "vbh.containment=$mode" "$@"
