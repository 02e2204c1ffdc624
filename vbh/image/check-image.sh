#!/usr/bin/env bash
# Build-time checks of the hypervisor image (run by CMake after linking):
#   - no undefined symbols: the image links nothing from Linux or libc
#   - the only dynamic relocations are R_X86_64_RELATIVE (what reloc.cpp applies)
#   - no constructors, TLS or interpreter: init() runs no global constructors
#   - vbh.bin starts with the header, its file_size is the file's size, the entry
#     offsets are inside the text
#   - no indirect CALL or JMP: nothing in the hypervisor consumes a branch-target
#     prediction the host could have trained, which is why #VMEXIT needs no IBPB
#     (docs/exit-cost.md, "Speculation")
set -euo pipefail
elf=$1 bin=$2
fail() { echo "check-image: $*" >&2; exit 1; }

undef=$(nm -u "$elf" || true)
[ -z "$undef" ] || fail "undefined symbols: $undef"

bad=$(readelf -rW "$elf" | awk '/^[0-9a-f]+ +[0-9a-f]+ +R_X86_64_/ && $3 != "R_X86_64_RELATIVE" {print $3}' | sort -u)
[ -z "$bad" ] || fail "unsupported relocations: $bad"

secs=$(readelf -SW "$elf" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\).*/\1/p')
for s in .init_array .fini_array .ctors .dtors .tdata .tbss .interp .plt; do
  if grep -qx -- "$s" <<<"$secs"; then fail "forbidden section $s"; fi
done

ind=$(objdump -d --no-show-raw-insn "$elf" | grep -E '^ +[0-9a-f]+:\s+(call|jmp)\s+\*' || true)
[ -z "$ind" ] || fail "indirect branches (IBPB policy relies on none): $ind"

read -r magic abi fsize msize init launch < <(od -An -t u4 -N 8 "$bin" | tr -s ' ' | sed 's/^ //'; true) || true
words=$(od -An -t u8 -j 8 -N 32 "$bin" | tr -s ' \n' ' ' | sed 's/^ //')
magic=$(od -An -t x4 -N 4 "$bin" | tr -d ' ')
[ "$magic" = "4d494856" ] || fail "bad magic $magic"
set -- $words
fsize=$1 msize=$2 init=$3 launch=$4
real=$(stat -c %s "$bin")
[ "$fsize" = "$real" ] || fail "header file_size $fsize != vbh.bin size $real"
[ $((msize % 4096)) = 0 ] && [ "$msize" -ge "$fsize" ] || fail "bad mem_size $msize"
text_end=$(nm "$elf" | awk '$3 == "__text_end" {print $1}')
[ $((init)) -lt $((16#$text_end)) ] && [ $((launch)) -lt $((16#$text_end)) ] || fail "entry outside text"
[ "$init" = "$((16#$(nm "$elf" | awk '$3 == "vbh_init" {print $1}')))" ] || fail "init_offset mismatch"
echo "check-image: ok (file $fsize bytes, mem $msize bytes, init +$init, launch +$launch)"
