#!/usr/bin/env bash
# Boot the kselftest scenario: Linux's KVM selftests against kvm_amd with npt=0 and
# npt=1, bare, and with --under-vbh also on top of vbh (docs/kselftest.md).
#   tools/kselftest/run.sh [--no-build] [--under-vbh] [--list FILE] [--kvm-ko FILE]
#                          [BOOT.SH ARGS...]
# Builds qemu-nested's initramfs and the selftests overlay (tools/kselftest/build.sh),
# unless --no-build, then boots qemu-nested's initramfs with the overlay appended (the CI
# initramfs never carries the tests). Other arguments go to qemu-nested/boot.sh, e.g.
# --append vbh.kselftest_modes=1 or --timeout 3600. Exit status: boot.sh's.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/out/kselftest
build=1 args=() blist=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --under-vbh) args+=(--append vbh.kselftest_under_vbh=1) ;;
    --list) blist+=(--list "${2:?--list needs a file}"); shift ;;
    --kvm-ko) blist+=(--kvm-ko "${2:?--kvm-ko needs a file}"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"
if [ $build = 1 ]; then
  "$root/qemu-nested/build.sh" > "$out/qemu-build.log" 2>&1 ||
    { tail -n 20 "$out/qemu-build.log"; echo "qemu-nested/build.sh failed ($out/qemu-build.log)"; exit 1; }
  "$root/tools/kselftest/build.sh" "${blist[@]}"
fi
# Concatenated gzip'd cpio archives: the kernel unpacks them in order into one rootfs.
cat "$root/out/qemu/initramfs.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.cpio.gz"
exec "$root/qemu-nested/boot.sh" --no-build --initrd "$out/initramfs.cpio.gz" \
  --scenario kselftest "${args[@]}"
