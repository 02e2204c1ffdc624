#!/usr/bin/env bash
# The protected-vm scenario's guest files (qemu-nested's tests/*/build.sh interface):
#   tests/protected-vm/build.sh OUTDIR
# vbh_secret_peek (static) and the scenario's helpers (protected-vm-*.sh, from
# tests/scenarios/protected-vm/) into OUTDIR, which qemu-nested/build.sh packs into
# /lib/vbh/bin. tests/protected-vm/prepare.sh adds fresh copies in its overlay.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
for f in "$root"/tests/scenarios/protected-vm/*.sh; do
  install -m 755 "$f" "$1/protected-vm-${f##*/}"
done
gcc -static -O2 -Wall -Werror -o "$1/vbh_secret_peek" "$root/tests/protected-vm/secret_peek.c"
