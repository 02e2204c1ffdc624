#!/usr/bin/env bash
# Build kvm.ko alone from Debian's linux-source-6.12 with CONFIG_KVM_SW_PROTECTED_VM=y
# and the protected-VM patch (protected-vm.patch + vbh.c/vbh.h of this folder), against
# the headers of the kernel qemu-nested boots, and check that every symbol it exports
# has the CRC Debian's Module.symvers gives it, so the stock kvm-amd.ko loads on top
# (docs/protected-vm.md):
#   loader/kvm/build.sh [--stock]
# --stock: the same build without the patch (upstream's software-protected VM only).
# Output: out/kvm/kvm.ko (out/kvm/kvm-stock.ko with --stock) and out/kvm/build-info.
# Cached: the two source folders kvm.ko is made of (arch/x86/kvm, virt/kvm) are
# unpacked once per linux-source-6.12 version, and the module is rebuilt only when the
# patch, vbh.c/vbh.h, the ABI headers or this script changed (a stamp of their hashes).
# Needs out/qemu/kernel.env (qemu-nested/build.sh) for the kernel to build against.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/loader/kvm
out=$root/out/kvm
stock=0
case ${1:-} in
  --stock) stock=1 ;;
  '') ;;
  *) echo "usage: $0 [--stock]" >&2; exit 2 ;;
esac
log() { echo "kvm: $*" >&2; }
pkg=linux-source-6.12
mkdir -p "$out"
exec 9> "$out/.build.lock"; flock 9  # one build at a time in this tree

deps() {
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' && return 0
  log "installing $pkg"
  local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "$pkg" xz-utils >/dev/null
}

unpack() { # the pristine arch/x86/kvm and virt/kvm, once per source version
  local ver stamp=$out/pristine/.unpacked
  ver=$(dpkg-query -W -f='${Version}' "$pkg")
  if [ -r "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ]; then return 0; fi
  log "unpacking $pkg $ver (arch/x86/kvm, virt/kvm)"
  rm -rf "$out/pristine"; mkdir -p "$out/pristine"
  tar -xJf "/usr/src/$pkg.tar.xz" -C "$out/pristine" --strip-components=1 \
    --wildcards "$pkg/arch/x86/kvm/*" "$pkg/virt/kvm/*"
  echo "$ver" > "$stamp"
}

# A copy of the pristine folders, patched (unless --stock), set up for an out-of-tree
# build: the upstream Makefile names its own folder and virt/kvm through $(srctree),
# which is the headers tree here (it has neither), so both become paths of the copy.
stage() {
  local t=$1 mk
  rm -rf "$t"; mkdir -p "$t"
  cp -a "$out/pristine/arch" "$out/pristine/virt" "$t/"
  if [ $stock = 0 ]; then
    patch -s -p1 -d "$t" < "$here/protected-vm.patch"
    cp "$here/vbh.c" "$here/vbh.h" "$t/arch/x86/kvm/"
    mkdir -p "$t/arch/x86/kvm/vbh-include/vbh"
    cp "$root/hypercalls/include/vbh/abi.h" "$root/hypercalls/include/vbh/kvm.h" \
      "$t/arch/x86/kvm/vbh-include/vbh/"
  fi
  mk=$t/arch/x86/kvm/Makefile
  # shellcheck disable=SC2016 # $(src) is make's, written into the Makefile as is
  sed -i -e 's|\$(srctree)/arch/x86/kvm|$(src)|' \
    -e 's|\$(srctree)/virt/kvm/Makefile.kvm|$(src)/../../../virt/kvm/Makefile.kvm|' "$mk"
  grep -q 'srctree' "$mk" && { log "$mk still names \$(srctree)"; exit 1; }
  return 0
}

# Both variants build in one tree: only the files whose content differs from the staged
# copy are copied (with a new mtime), so make recompiles only those (x86.c, tdp_mmu.c,
# vbh.c between --stock and the patched build), not the whole of kvm.ko.
sync_tree() {
  local s=$1 d=$2 f
  (cd "$s" && find . -type f) | while read -r f; do
    cmp -s "$s/$f" "$d/$f" && continue
    mkdir -p "$(dirname "$d/$f")"
    cp "$s/$f" "$d/$f"
  done
}

# kvm.o only: kvm-intel and kvm-amd stay Debian's. CONFIG_KVM_SW_PROTECTED_VM is read
# in C only (x86.c, mmu/mmu.c: IS_ENABLED), and everything it selects is =y in Debian's
# config already (KVM_GENERIC_PRIVATE_MEM), so defining it for the C compiler is the
# whole configuration change.
compile() {
  local t=$1
  # shellcheck source=/dev/null
  . "$root/out/qemu/kernel.env"
  # trace.h names itself as <../../arch/x86/kvm/trace.h>, relative to the kernel's
  # include/trace/: from the copy's virt/kvm that is the copy's own arch/x86/kvm.
  make -s -C "$KDIR" M="$t/arch/x86/kvm" CONFIG_KVM_INTEL= CONFIG_KVM_AMD= \
    CONFIG_KVM_SW_PROTECTED_VM=y KCFLAGS="-DCONFIG_KVM_SW_PROTECTED_VM=1 -I$t/virt/kvm" \
    -j "$(nproc)" modules
}

# Every symbol our kvm.ko exports must carry Debian's CRC for it (kvm-amd.ko was built
# against those), and it must export every symbol Debian's kvm.ko exports.
crc_check() {
  local t=$1 ours=$out/ours.symvers theirs=$out/debian.symvers bad
  # shellcheck source=/dev/null
  . "$root/out/qemu/kernel.env"
  awk '$3 ~ /arch\/x86\/kvm\/kvm$/ { print $2, $1 }' "$KDIR/Module.symvers" | sort > "$theirs"
  awk '{ print $2, $1 }' "$t/arch/x86/kvm/Module.symvers" | sort > "$ours"
  [ -s "$theirs" ] || { log "no kvm symbols in $KDIR/Module.symvers"; exit 1; }
  bad=$(join -a1 -a2 -e MISSING -o 0,1.2,2.2 "$theirs" "$ours" | awk '$2 != $3')
  if [ -n "$bad" ]; then
    log "exported symbols differ from Debian's (symbol debian ours):"; echo "$bad" >&2; exit 1
  fi
  log "CRCs: $(wc -l < "$theirs") exported symbols, all equal to Debian's Module.symvers"
}

stamp_of() { # what the module is made of, besides the pristine source
  { dpkg-query -W -f='${Version}' "$pkg"; cat "$root/out/qemu/kernel.env" "$0"
    [ $stock = 1 ] || cat "$here/protected-vm.patch" "$here/vbh.c" "$here/vbh.h" \
      "$root/hypercalls/include/vbh/abi.h" "$root/hypercalls/include/vbh/kvm.h"
  } | sha256sum | cut -d' ' -f1
}

[ -r "$root/out/qemu/kernel.env" ] || { log "run qemu-nested/build.sh first"; exit 1; }
t0=$SECONDS
name=kvm; [ $stock = 1 ] && name=kvm-stock
deps
unpack
want=$(stamp_of)
if [ -r "$out/$name.ko" ] && [ "$(cat "$out/$name.stamp" 2>/dev/null)" = "$want" ]; then
  log "$out/$name.ko is up to date"; exit 0
fi
stage "$out/stage"
sync_tree "$out/stage" "$out/tree"
log "building $name.ko (CONFIG_KVM_SW_PROTECTED_VM=y$([ $stock = 1 ] && echo ', no patch'))"
compile "$out/tree"
crc_check "$out/tree"
cp "$out/tree/arch/x86/kvm/kvm.ko" "$out/$name.ko"
echo "$want" > "$out/$name.stamp"
# shellcheck source=/dev/null
. "$root/out/qemu/kernel.env"
echo "$name.ko $pkg $(dpkg-query -W -f='${Version}' "$pkg") kernel=$KVER sw_protected_vm=y patch=$([ $stock = 1 ] && echo none || echo protected-vm.patch)" \
  > "$out/$name.build-info"
log "ok: $out/$name.ko ($((SECONDS - t0)) s)"
