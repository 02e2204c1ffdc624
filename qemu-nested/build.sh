#!/usr/bin/env bash
# Build everything the QEMU boot tests need and pack the initramfs: the modules of
# loader/ (vbh.ko, and the test loader embedding vbh-test.bin), qemu-nested/testmod and tests/guest-modules/*/ (Kbuild dirs), the
# CMake targets vbh_image, vbh_image_test and vbhctl when defined, and the files that every executable
# tests/*/build.sh puts into the OUTDIR given as its only argument (-> /lib/vbh/bin);
# the CMake target vbh_vmm (tools/vmm) is packed as /usr/bin/vbh-vmm.
#   qemu-nested/build.sh                     6.12: module(s), vbh_image, vbhctl, initramfs
#   qemu-nested/build.sh --series 6.1        the same for Debian's 6.1 kernel: every module
#                                            built against 6.1, its own initramfs and env
#   qemu-nested/build.sh --kver-series 6.1   compile check of the modules against 6.1
#   ... --vbh-ko FILE                        pack FILE as /lib/vbh/vbh.ko instead of the
#                                            loader built here (e.g. the DKMS-built module)
# Outputs: out/qemu/initramfs.cpio.gz, out/qemu/kernel.env (KVER, VMLINUZ, KDIR); with
# --series S other than 6.12: out/qemu/initramfs-S.cpio.gz, out/qemu/kernel-S.env.
# Incremental (make, ninja); the initramfs is repacked every time (about a second).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/qemu-nested
out=$root/out/qemu
bdir=$root/build/qemu
series=6.12 compile_only=0 vbh_ko=''
while [ $# -gt 0 ]; do
  case $1 in
    --series) series=${2:?--series needs 6.12 or 6.1}; shift ;;
    --kver-series) series=${2:?--kver-series needs a series, e.g. 6.1}; compile_only=1; shift ;;
    --vbh-ko) vbh_ko=$(realpath "${2:?--vbh-ko needs a file}"); shift ;;
    *) echo "usage: $0 [--series 6.12|6.1 | --kver-series 6.1] [--vbh-ko FILE]" >&2; exit 2 ;;
  esac
  shift
done
sfx=''  # 6.12 keeps the historical file names; another series gets its own
[ "$series" = 6.12 ] || sfx=-$series
mkdir -p "$out"
log() { echo "build: $*" >&2; }
exec 9> "$out/.build.lock"  # one build at a time: several helpers boot from one tree
flock 9

cmake_targets() { # build vbh_image and vbhctl if some CMakeLists.txt defines them
  grep -rqsE --include=CMakeLists.txt '\b(vbh_image|vbhctl)\b' "$root" --exclude-dir=build \
    --exclude-dir=out || return 0
  local t targets have=()
  cmake -S "$root" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVBH_SANITIZE=OFF \
    >/dev/null || return 1
  targets=$(cmake --build "$bdir" --target help) || return 1
  for t in vbh_image vbh_image_test vbhctl vbh_vmm; do
    if grep -q "^$t:" <<< "$targets"; then have+=("$t"); fi
  done
  [ ${#have[@]} -eq 0 ] && return 0
  log "cmake --build build/qemu --target ${have[*]}"
  cmake --build "$bdir" -j "$(nproc)" --target "${have[@]}"
}

found() { # found FIND-ARGS...: first match under build/qemu, empty if none
  [ -d "$bdir" ] || return 0
  find "$bdir" "$@" -type f | sort | head -n1
}
image() { found -name vbh.bin; }
vbhctl() { found -name vbhctl -perm -u+x; }
vmm() { found -name vbh-vmm -perm -u+x; }  # tools/vmm, static

kmake() { # kmake DIR: build the Kbuild module(s) in DIR against $KDIR
  local img args=(VBH_ROOT="$root")  # VBH_ROOT: sources copied out of the tree find ../
  img=$(image)
  [ -z "$img" ] || args+=(VBH_IMAGE="$img")
  log "make -C $KDIR M=${1#"$root"/}${img:+ VBH_IMAGE=${img#"$root"/}}"
  make -s -C "$KDIR" M="$1" -j "$(nproc)" "${args[@]}" modules
}

check_vermagic() { # every .ko in DIR must be built for $KVER
  local ko v
  for ko in "$1"/*.ko; do
    v=$(modinfo -F vermagic "$ko")
    [ "${v%% *}" = "$KVER" ] || { log "$ko: vermagic '$v' is not $KVER"; return 1; }
  done
}

copy_sources() { # copy_sources SRC DST: the git-visible files of SRC (no build products);
  # tar keeps modification times, so make rebuilds only what changed.
  mkdir -p "$2"
  (cd "$1" && git ls-files -co --exclude-standard . | tar -cf - -T -) | tar -xf - -C "$2"
}

failed=()  # what did not build; the initramfs is still packed without it

modules() { # build every module; .ko files end up in $out/modules-$series/, the loaders
  # in $out/vbh$sfx.ko and $out/vbh-test$sfx.ko
  local kodir=$out/modules-$series d
  rm -rf "$kodir" "$out/vbh$sfx.ko" "$out/vbh-test$sfx.ko"; mkdir -p "$kodir"
  copy_sources "$here/testmod" "$out/build-$series/testmod"
  kmake "$out/build-$series/testmod" && cp "$out/build-$series/testmod"/*.ko "$kodir/"
  if [ "$series" != 6.12 ]; then
    if shadow_loader; then cp "$out/build-$series/loader/vbh.ko" "$out/vbh$sfx.ko"; else failed+=(loader); fi
    [ $compile_only = 1 ] || test_loader || failed+=(loader-test)
  elif kmake "$root/loader"; then
    cp "$root/loader/vbh.ko" "$out/vbh.ko"
    test_loader || failed+=(loader-test)
  else
    failed+=(loader)
  fi
  for d in "$root"/tests/guest-modules/*/; do  # 6.12 in place, another series in a copy
    [ -e "$d/Kbuild" ] || continue
    d=$(guest_module_dir "${d%/}")
    if kmake "$d"; then cp "$d"/*.ko "$kodir/"; else failed+=("${d#"$root"/}"); fi
  done
  check_vermagic "$kodir"
}

guest_module_dir() { # guest_module_dir SRC: where to build it for $series. A copy keeps the
  # repository's relative layout (Kbuild files reach ../../../hypercalls/include).
  if [ "$series" = 6.12 ]; then echo "$1"; return; fi
  local tree=$out/build-$series/tree
  mkdir -p "$tree"; ln -sfn "$root/hypercalls" "$tree/hypercalls"
  copy_sources "$1" "$tree/${1#"$root"/}" >&2
  echo "$tree/${1#"$root"/}"
}

test_loader() { # the test loader (docs/loader.md): loader/ built in a copy with VBH_TEST=1,
  # embedding vbh-test.bin -> $out/vbh-test.ko, packed as /lib/vbh/test/vbh.ko
  local img d=$out/build-$series/loader-test
  img=$(found -name vbh-test.bin)
  [ -n "$img" ] || { log "no vbh-test.bin: no test loader"; return 1; }
  copy_sources "$root/loader" "$d"
  log "make -C $KDIR M=${d#"$root"/} VBH_TEST=1 VBH_IMAGE=${img#"$root"/}"
  make -s -C "$KDIR" M="$d" -j "$(nproc)" VBH_ROOT="$root" VBH_TEST=1 VBH_IMAGE="$img" modules &&
    cp "$d/vbh.ko" "$out/vbh-test$sfx.ko"
}

shadow_loader() { # compile loader/ for another series in a copy: loader/'s objects
  # stay those of the 6.12 build the initramfs uses.
  copy_sources "$root/loader" "$out/build-$series/loader"
  kmake "$out/build-$series/loader"
  check_vermagic "$out/build-$series/loader"
}

guest_bins() { # every tests/*/build.sh OUTDIR: guest programs/files -> /lib/vbh/bin
  local b dir
  rm -rf "$out/guest-bin"; mkdir -p "$out/guest-bin"
  for b in "$root"/tests/*/build.sh; do
    [ -x "$b" ] || continue
    dir=${b%/build.sh}
    log "${b#"$root"/} out/qemu/guest-bin/${dir##*/}"
    "$b" "$out/guest-bin/${dir##*/}" || failed+=("${dir#"$root"/}")
  done
}

shared_libs() { # shared_libs ELF DIR: copy ELF's dynamic loader (its PT_INTERP path) and
  # the shared libraries it needs (ldd: the whole closure) to the same paths under DIR.
  # The guest's ld.so finds them in its built-in multiarch directories (no ld.so.cache).
  local interp libs lib
  interp=$(readelf -l "$1" 2>/dev/null | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
  [ -n "$interp" ] || return 0  # static, or not an ELF executable
  libs=$(ldd "$1") || { log "ldd $1 failed"; return 1; }
  if grep -q 'not found' <<< "$libs"; then log "$1: $(grep 'not found' <<< "$libs" | xargs)"; return 1; fi
  for lib in "$interp" $(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<< "$libs"); do
    [ -e "$2/$lib" ] && continue
    mkdir -p "$2/${lib%/*}"; cp -L "$lib" "$2/$lib"
  done
}

pack() { # the initramfs: busybox, /init, lib.sh, tests/scenarios, modules, vbhctl, vbh.bin, and
  # the shared libraries of the dynamically linked programs (vbh-bench: libbenchmark)
  local st=$out/initramfs$sfx a f
  rm -rf "$st"
  mkdir -p "$st"/{bin,dev,proc,sys,tmp,root,usr/bin,lib/vbh/scenarios,lib/vbh/modules,lib/vbh/bin,lib/firmware}
  cp /bin/busybox "$st/bin/busybox"
  for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$st/bin/$a"; done
  install -m 755 "$here/guest/init" "$st/init"
  cp "$here/guest/lib.sh" "$st/lib/vbh/"
  cp "$root"/tests/scenarios/*.sh "$st/lib/vbh/scenarios/"  # sub-folders: parts, not scenarios
  find "$out/guest-bin" -type f -exec cp {} "$st/lib/vbh/bin/" \;
  for f in "$st"/lib/vbh/bin/*; do shared_libs "$f" "$st" || failed+=("shared libraries of ${f##*/}"); done
  cp "$out/modules-$series"/*.ko "$st/lib/vbh/modules/"
  for f in "$out"/modules/*.ko; do if [ -e "$f" ]; then cp "$f" "$st/lib/vbh/modules/"; fi; done
  if [ -n "$vbh_ko" ]; then cp "$vbh_ko" "$st/lib/vbh/vbh.ko"
  elif [ -e "$out/vbh$sfx.ko" ]; then cp "$out/vbh$sfx.ko" "$st/lib/vbh/vbh.ko"; fi
  if [ -e "$out/vbh-test$sfx.ko" ]; then mkdir -p "$st/lib/vbh/test"; cp "$out/vbh-test$sfx.ko" "$st/lib/vbh/test/vbh.ko"; fi
  f=$(image)
  if [ -n "$f" ]; then cp "$f" "$st/lib/vbh/vbh.bin"; ln -s ../vbh/vbh.bin "$st/lib/firmware/vbh.bin"; fi
  f=$(vbhctl)
  if [ -n "$f" ]; then
    cp "$f" "$st/usr/bin/vbhctl"
    shared_libs "$f" "$st" || failed+=("shared libraries of vbhctl")
  fi
  f=$(vmm)
  if [ -n "$f" ]; then cp "$f" "$st/usr/bin/vbh-vmm"; fi
  echo "kernel=$KVER git=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)" \
    "vbh.ko=$([ -e "$st/lib/vbh/vbh.ko" ] && echo "${vbh_ko:-yes}" || echo no)" \
    "test/vbh.ko=$([ -e "$st/lib/vbh/test/vbh.ko" ] && echo yes || echo no)" \
    "vbh.bin=$([ -n "$(image)" ] && echo yes || echo no) vbhctl=$([ -n "$f" ] && echo yes || echo no)" \
    "built=$(date -u +%FT%TZ)" > "$st/lib/vbh/build-info"
  (cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$out/initramfs.tmp"
  mv "$out/initramfs.tmp" "$out/initramfs$sfx.cpio.gz"
  log "initramfs: $(cat "$st/lib/vbh/build-info")"
}

"$root/tools/deps.sh" qemu
if [ $compile_only = 0 ]; then eval "$("$here/kernel.sh" --series "$series")"
else eval "$("$here/kernel.sh" --series "$series" --headers-only)"; fi
# The compile check only compiles: any vbh.bin will do for the .incbin.
if [ $compile_only = 0 ] || [ -z "$(image)" ]; then cmake_targets || failed+=(cmake); fi
modules
if [ $compile_only = 0 ]; then
  guest_bins
  pack
  printf 'KVER=%q\nVMLINUZ=%q\nKDIR=%q\n' "$KVER" "$VMLINUZ" "$KDIR" > "$out/kernel$sfx.env"
fi
if [ ${#failed[@]} -gt 0 ]; then log "FAILED ($series, $KVER): ${failed[*]}"; exit 1; fi
log "ok ($series, $KVER)"
