#!/usr/bin/env bash
# Build everything the QEMU boot tests need and pack the initramfs: the modules of
# loader/ (vbh.ko, and the test loader embedding vbh-test.bin), qemu-nested/testmod and tests/guest-modules/*/ (Kbuild dirs), the
# CMake targets vbh_image, vbh_image_test and vbhctl when defined, and the files that every executable
# tests/*/build.sh puts into the OUTDIR given as its only argument (-> /lib/vbh/bin).
#   qemu-nested/build.sh                     6.12: module(s), vbh_image, vbhctl, initramfs
#   qemu-nested/build.sh --kver-series 6.1   compile check of the modules against 6.1
# Outputs: out/qemu/initramfs.cpio.gz, out/qemu/kernel.env (KVER, VMLINUZ, KDIR).
# Incremental (make, ninja); the initramfs is repacked every time (about a second).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/qemu-nested
out=$root/out/qemu
bdir=$root/build/qemu
series=6.12
case ${1:-} in
  "") ;;
  --kver-series) series=${2:?--kver-series needs a series, e.g. 6.1} ;;
  *) echo "usage: $0 [--kver-series 6.1]" >&2; exit 2 ;;
esac
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
  for t in vbh_image vbh_image_test vbhctl; do
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

modules() { # build every module; .ko files end up in $out/modules-$series/
  local kodir=$out/modules-$series d
  rm -rf "$kodir" "$out/vbh.ko" "$out/vbh-test.ko"; mkdir -p "$kodir"
  copy_sources "$here/testmod" "$out/build-$series/testmod"
  kmake "$out/build-$series/testmod" && cp "$out/build-$series/testmod"/*.ko "$kodir/"
  if [ "$series" != 6.12 ]; then
    shadow_loader || failed+=(loader)
  elif kmake "$root/loader"; then
    cp "$root/loader/vbh.ko" "$out/vbh.ko"
    test_loader || failed+=(loader-test)
  else
    failed+=(loader)
  fi
  for d in "$root"/tests/guest-modules/*/; do  # in place, so only for the booted kernel
    if [ "$series" != 6.12 ] || [ ! -e "$d/Kbuild" ]; then continue; fi
    if kmake "${d%/}"; then cp "${d%/}"/*.ko "$kodir/"; else failed+=("${d#"$root"/}"); fi
  done
  check_vermagic "$kodir"
}

test_loader() { # the test loader (docs/loader.md): loader/ built in a copy with VBH_TEST=1,
  # embedding vbh-test.bin -> $out/vbh-test.ko, packed as /lib/vbh/test/vbh.ko
  local img d=$out/build-$series/loader-test
  img=$(found -name vbh-test.bin)
  [ -n "$img" ] || { log "no vbh-test.bin: no test loader"; return 1; }
  copy_sources "$root/loader" "$d"
  log "make -C $KDIR M=${d#"$root"/} VBH_TEST=1 VBH_IMAGE=${img#"$root"/}"
  make -s -C "$KDIR" M="$d" -j "$(nproc)" VBH_ROOT="$root" VBH_TEST=1 VBH_IMAGE="$img" modules &&
    cp "$d/vbh.ko" "$out/vbh-test.ko"
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
  local st=$out/initramfs a f
  rm -rf "$st"
  mkdir -p "$st"/{bin,dev,proc,sys,tmp,root,usr/bin,lib/vbh/scenarios,lib/vbh/modules,lib/vbh/bin,lib/firmware}
  cp /bin/busybox "$st/bin/busybox"
  for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$st/bin/$a"; done
  install -m 755 "$here/guest/init" "$st/init"
  cp "$here/guest/lib.sh" "$st/lib/vbh/"
  cp "$root"/tests/scenarios/*.sh "$st/lib/vbh/scenarios/"  # sub-folders: parts, not scenarios
  find "$out/guest-bin" -type f -exec cp {} "$st/lib/vbh/bin/" \;
  for f in "$st"/lib/vbh/bin/*; do shared_libs "$f" "$st" || failed+=("shared libraries of ${f##*/}"); done
  cp "$out"/modules-6.12/*.ko "$st/lib/vbh/modules/"
  for f in "$out"/modules/*.ko; do if [ -e "$f" ]; then cp "$f" "$st/lib/vbh/modules/"; fi; done
  if [ -e "$out/vbh.ko" ]; then cp "$out/vbh.ko" "$st/lib/vbh/vbh.ko"; fi
  if [ -e "$out/vbh-test.ko" ]; then mkdir -p "$st/lib/vbh/test"; cp "$out/vbh-test.ko" "$st/lib/vbh/test/vbh.ko"; fi
  f=$(image)
  if [ -n "$f" ]; then cp "$f" "$st/lib/vbh/vbh.bin"; ln -s ../vbh/vbh.bin "$st/lib/firmware/vbh.bin"; fi
  f=$(vbhctl)
  if [ -n "$f" ]; then
    cp "$f" "$st/usr/bin/vbhctl"
    shared_libs "$f" "$st" || failed+=("shared libraries of vbhctl")
  fi
  echo "kernel=$KVER git=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)" \
    "vbh.ko=$([ -e "$st/lib/vbh/vbh.ko" ] && echo yes || echo no)" \
    "test/vbh.ko=$([ -e "$st/lib/vbh/test/vbh.ko" ] && echo yes || echo no)" \
    "vbh.bin=$([ -n "$(image)" ] && echo yes || echo no) vbhctl=$([ -n "$f" ] && echo yes || echo no)" \
    "built=$(date -u +%FT%TZ)" > "$st/lib/vbh/build-info"
  (cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$out/initramfs.tmp"
  mv "$out/initramfs.tmp" "$out/initramfs.cpio.gz"
  log "initramfs: $(cat "$st/lib/vbh/build-info")"
}

"$root/tools/deps.sh" qemu
if [ "$series" = 6.12 ]; then eval "$("$here/kernel.sh")"
else eval "$("$here/kernel.sh" --series "$series" --headers-only)"; fi
# The 6.1 check only compiles: any vbh.bin will do for the .incbin.
if [ "$series" = 6.12 ] || [ -z "$(image)" ]; then cmake_targets || failed+=(cmake); fi
modules
if [ "$series" = 6.12 ]; then
  guest_bins
  pack
  printf 'KVER=%q\nVMLINUZ=%q\nKDIR=%q\n' "$KVER" "$VMLINUZ" "$KDIR" > "$out/kernel.env"
fi
if [ ${#failed[@]} -gt 0 ]; then log "FAILED ($series, $KVER): ${failed[*]}"; exit 1; fi
log "ok ($series, $KVER)"
