#!/usr/bin/env bash
# Build the in-guest benchmark programs as static binaries:
#   tests/guest-bench/build.sh OUTDIR   -> OUTDIR/vbh-bench, OUTDIR/vbh-nop
# Static because the guest initramfs has no shared libraries (see common.h for why this
# is plain C and not Google Benchmark). Needs gcc and glibc's static libraries (libc6-dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
cc=${CC:-gcc}
flags=(-O2 -g0 -static -pthread -Wall -Wextra -Werror -std=gnu11)
"$cc" "${flags[@]}" -o "$out/vbh-bench" "$here"/{main,calib,exec,syscall,pingpong,mem,fault}.c
"$cc" "${flags[@]}" -o "$out/vbh-nop" "$here/nop.c"
strip "$out/vbh-bench" "$out/vbh-nop"
