#!/usr/bin/env bash
# Install what vbh needs from Debian's registry, only what is missing.
#   tools/deps.sh host   compilers, CMake, GoogleTest, Benchmark, Boost, spdlog
#   tools/deps.sh qemu   host + QEMU, busybox, cpio, kmod (the kernel: qemu-nested/kernel.sh)
set -euo pipefail

host_pkgs=(cmake ninja-build g++ clang libclang-rt-14-dev libgtest-dev libgmock-dev
           libbenchmark-dev libboost-dev libspdlog-dev libfmt-dev libcli11-dev valgrind python3 python3-matplotlib binutils)
# libbenchmark-dev (host list) brings libbenchmark1debian, whose .so the guest's vbh-bench
# loads; libc6-dev has the static glibc that vbh-nop links.
qemu_pkgs=(qemu-system-x86 busybox-static cpio kmod make gcc g++ libc6-dev bc flex bison libelf-dev
           libbenchmark1debian)

want=("${host_pkgs[@]}")
case "${1:-host}" in
  host) ;;
  qemu) want+=("${qemu_pkgs[@]}") ;;
  *) echo "usage: $0 host|qemu" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
