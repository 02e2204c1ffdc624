#!/usr/bin/env bash
# Build the in-guest benchmark programs:
#   tests/guest-bench/build.sh OUTDIR   -> OUTDIR/vbh-bench, OUTDIR/vbh-nop
# vbh-bench is C++ on Google Benchmark, linked against Debian's shared libbenchmark (there
# is no static one); qemu-nested/build.sh packs the libraries it needs into the initramfs.
# vbh-nop, the exec workload's target, stays static: its start-up is what exec measures,
# and a static glibc start-up is the same with or without those libraries.
# Needs gcc, g++, libbenchmark-dev and glibc's static libraries (tools/deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out/obj"
cc=${CC:-gcc} cxx=${CXX:-g++}
warn=(-Wall -Wextra -Werror)
for c in calib exec syscall pingpong mem fault; do
  "$cc" -O2 -g0 -pthread "${warn[@]}" -std=gnu11 -c -o "$out/obj/$c.o" "$here/$c.c"
done
for c in main workloads roundtrip; do
  "$cxx" -O2 -g0 -pthread "${warn[@]}" -std=c++20 -I"$here/../../hypercalls/include" \
    -c -o "$out/obj/$c.o" "$here/$c.cpp"
done
"$cxx" -pthread -o "$out/vbh-bench" "$out"/obj/*.o -lbenchmark
"$cc" -O2 -g0 -static "${warn[@]}" -std=gnu11 -o "$out/vbh-nop" "$here/nop.c"
rm -rf "$out/obj"  # qemu-nested/build.sh copies every file of OUTDIR into the guest
strip "$out/vbh-bench" "$out/vbh-nop"
