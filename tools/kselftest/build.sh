#!/usr/bin/env bash
# Build Linux's own KVM selftests (tools/testing/selftests/kvm of Debian's
# linux-source-6.12), statically linked, and pack the tests named in a list with the
# kernel's KVM modules into an initramfs overlay for the kselftest scenario
# (docs/kselftest.md):
#   tools/kselftest/build.sh [--list FILE] [--kvm-ko FILE]
#     --list FILE     the tests to pack (default tools/kselftest/tests.list)
#     --kvm-ko FILE   pack FILE as kvm.ko instead of the boot kernel's (the protected-VM
#                     kvm.ko of loader/kvm/build.sh: tools/kselftest/private-mem.list)
# Output: out/kselftest/overlay.cpio.gz, appended to qemu-nested's initramfs by
# tools/kselftest/run.sh (never packed into the CI initramfs):
#   /lib/vbh/kselftest/list              the list's entries (comment lines dropped)
#   /lib/vbh/kselftest/bin/<test path>   each listed test, stripped (x86_64/cpuid_test ...)
#   /lib/vbh/kvm/*.ko                    irqbypass, ccp, kvm, kvm-amd of the boot kernel
# Cached: the source is unpacked once per linux-source-6.12 version (out/kselftest/src),
# the UAPI headers installed once, and make rebuilds nothing that is up to date.
# Needs out/qemu/kernel.env (qemu-nested/build.sh) for the kernel whose modules to pack.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tools/kselftest
out=$root/out/kselftest
list=$here/tests.list
kvm_ko=
while [ $# -gt 0 ]; do
  case $1 in
    --list) list=$(realpath "${2:?--list needs a file}"); shift ;;
    --kvm-ko) kvm_ko=$(realpath "${2:?--kvm-ko needs a file}"); shift ;;
    *) echo "usage: $0 [--list FILE] [--kvm-ko FILE]" >&2; exit 2 ;;
  esac
  shift
done
log() { echo "kselftest: $*" >&2; }
pkg=linux-source-6.12
src=$out/src/$pkg
mkdir -p "$out"
exec 9> "$out/.build.lock"; flock 9  # one build at a time in this tree

deps() { # the source package, and what a static build of the selftests links against
  local p missing=()
  for p in "$pkg" make gcc libc6-dev xz-utils binutils cpio; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

unpack() { # only the parts the selftests and `make headers` read, once per version
  local ver stamp=$out/src/.unpacked
  ver=$(dpkg-query -W -f='${Version}' "$pkg")
  if [ -r "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ]; then return 0; fi
  log "unpacking $pkg $ver (tools, include, arch/x86, scripts)"
  rm -rf "$out/src"; mkdir -p "$out/src"
  tar -xJf "/usr/src/$pkg.tar.xz" -C "$out/src" --wildcards "$pkg/tools/*" "$pkg/include/*" \
    "$pkg/arch/x86/*" "$pkg/scripts/*" "$pkg/usr/*" "$pkg/Makefile" "$pkg/Kbuild" "$pkg/Kconfig" \
    "$pkg/arch/Kconfig"
  log "make headers"  # the UAPI headers the selftests include (<linux/kvm.h>, <asm/kvm.h>)
  make -s -C "$src" ARCH=x86 headers -j "$(nproc)"
  echo "$ver" > "$stamp"
}

entries() { grep -v '^ *#' "$list" | grep '|'; }  # the list without comments

tests() { # the test paths of the list: the first field of every entry
  entries | awk -F'|' '{ gsub(/ /, "", $1); print $1 }'
}

build() { # only the listed tests (and libkvm), static, objects in out/kselftest/kvm
  local obj=$out/kvm t targets=()
  for t in $(tests); do targets+=("$obj/$t"); done
  log "make -C tools/testing/selftests/kvm LDFLAGS=-static (${#targets[@]} tests)"
  make -s -C "$src/tools/testing/selftests/kvm" ARCH=x86_64 OUTPUT="$obj" LDFLAGS=-static \
    -j "$(nproc)" "${targets[@]}"
}

pack() { # the overlay: tests stripped, the list, the boot kernel's KVM modules
  local st=$out/overlay t m
  # shellcheck source=/dev/null
  . "$root/out/qemu/kernel.env"
  rm -rf "$st"; mkdir -p "$st/lib/vbh/kselftest/bin" "$st/lib/vbh/kvm"
  for t in $(tests); do
    mkdir -p "$(dirname "$st/lib/vbh/kselftest/bin/$t")"
    strip -o "$st/lib/vbh/kselftest/bin/$t" "$out/kvm/$t"
  done
  entries > "$st/lib/vbh/kselftest/list"
  for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
    xz -dc "/lib/modules/$KVER/kernel/$m.ko.xz" > "$st/lib/vbh/kvm/${m##*/}.ko"
  done
  [ -z "$kvm_ko" ] || cp "$kvm_ko" "$st/lib/vbh/kvm/kvm.ko"
  echo "$pkg $(dpkg-query -W -f='${Version}' "$pkg") kernel=$KVER list=${list#"$root"/}" \
    "kvm.ko=$([ -n "$kvm_ko" ] && echo "${kvm_ko#"$root"/}" || echo debian)" \
    > "$st/lib/vbh/kselftest/build-info"
  (cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$out/overlay.tmp"
  mv "$out/overlay.tmp" "$out/overlay.cpio.gz"
  log "overlay: $(tests | wc -l) tests, $(du -k "$out/overlay.cpio.gz" | cut -f1) KiB"
}

[ -r "$root/out/qemu/kernel.env" ] || { log "run qemu-nested/build.sh first"; exit 1; }
t0=$SECONDS
deps
unpack
build
pack
log "ok ($((SECONDS - t0)) s)"
