#!/usr/bin/env bash
# Build the Debian packages of vbh into out/pkg/ (docs/packaging.md):
#   vbh-dkms_<version>_all.deb   loader sources + prebuilt vbh.bin + dkms.conf; DKMS builds
#                                vbh.ko for every installed kernel with headers
#   vbhctl_<version>_amd64.deb   static vbhctl, man page (help2man), bash completion
# and run lintian on both (any error fails). The version is packaging/VERSION, the one
# place it is written. Installs what it needs (tools/deps.sh host, dpkg-dev, lintian,
# help2man); the hypervisor image and vbhctl come from the CMake build in build/qemu
# (Release, the tree qemu-nested/build.sh uses, under the same lock).
#   tools/package.sh            build + lintian
#   tools/package.sh --check    then tools/package-test.sh (install, dkms status, purge)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg=$root/packaging
out=$root/out/pkg
bdir=$root/build/qemu
check=0
case ${1:-} in
  "") ;; --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
log() { echo "package: $*" >&2; }

version=$(tr -d ' \n' < "$pkg/VERSION")
[[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] || { log "packaging/VERSION: '$version' is not N.N.N"; exit 1; }

deps() {
  "$root/tools/deps.sh" host
  local p missing=()
  for p in dpkg-dev lintian help2man; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" > /dev/null
}

build() { # vbh.bin and vbhctl, Release, in build/qemu (qemu-nested/build.sh's lock)
  mkdir -p "$root/out/qemu"
  exec 9> "$root/out/qemu/.build.lock"
  flock 9
  cmake -S "$root" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVBH_SANITIZE=OFF > /dev/null
  cmake --build "$bdir" -j "$(nproc)" --target vbh_image vbhctl
  exec 9>&-
}

fill() { # fill FILE KEY=VALUE...: replace @KEY@ in FILE
  local f=$1 kv; shift
  for kv in "$@"; do sed -i "s|@${kv%%=*}@|${kv#*=}|g" "$f"; done
}

doc_dir() { # doc_dir STAGE PACKAGE: copyright and the (native) changelog
  local d=$1/usr/share/doc/$2 date
  install -d "$d"
  install -m 644 "$pkg/copyright" "$d/copyright"
  # One entry, dated by the last commit, so the same tree gives the same package.
  date=$(git -C "$root" log -1 --format=%aD 2>/dev/null || date -R)
  printf '%s (%s) unstable; urgency=medium\n\n  * Built from git %s.\n\n -- %s  %s\n' \
    "$2" "$version" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$(sed -n 's/^Maintainer: //p' "$pkg/vbhctl/control")" "$date" | gzip -9n > "$d/changelog.gz"
}

finish() { # finish STAGE CONTROL-DIR: DEBIAN/ (control, scripts, md5sums), dpkg-deb
  local st=$1 src=$2 s size
  install -d "$st/DEBIAN"
  install -m 644 "$src/control" "$st/DEBIAN/control"
  for s in postinst prerm postrm; do
    if [ -e "$src/$s" ]; then install -m 755 "$src/$s" "$st/DEBIAN/$s"; fill "$st/DEBIAN/$s" VERSION="$version"; fi
  done
  size=$(du -sk --exclude=DEBIAN "$st" | cut -f1)
  fill "$st/DEBIAN/control" VERSION="$version" SIZE="$size"
  (cd "$st" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
     xargs -0 md5sum > DEBIAN/md5sums)
  chmod 644 "$st/DEBIAN/md5sums"
  dpkg-deb --root-owner-group -Zxz --build "$st" "$out" >&2
}

dkms_deb() { # /usr/src/vbh-V: the loader's Kbuild sources, the ABI headers, vbh.bin
  local st=$out/stage/vbh-dkms src
  src=$st/usr/src/vbh-$version
  rm -rf "$st"; install -d "$src/hypercalls/include/vbh"
  install -m 644 "$root"/loader/Kbuild "$root"/loader/*.[chS] "$src/"
  install -m 644 "$root"/hypercalls/include/vbh/*.h "$src/hypercalls/include/vbh/"
  install -m 644 "$bdir/vbh/image/vbh.bin" "$src/vbh.bin"
  install -m 644 "$pkg/vbh-dkms/dkms.conf" "$src/dkms.conf"
  fill "$src/dkms.conf" VERSION="$version"
  doc_dir "$st" vbh-dkms
  finish "$st" "$pkg/vbh-dkms"
}

vbhctl_completion() { # vbhctl_completion BINARY: bash completion from its --help output
  local bin=$1 subs s opts
  subs=$("$bin" --help | awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }')
  printf '# bash completion for vbhctl (generated from vbhctl --help by tools/package.sh)\n'
  printf '_vbhctl() {\n  local cur=${COMP_WORDS[COMP_CWORD]} opts\n'
  printf '  if [ "$COMP_CWORD" -eq 1 ]; then\n'
  printf '    COMPREPLY=($(compgen -W "%s -h --help -v --verbose" -- "$cur")); return\n  fi\n' "$(echo $subs)"
  printf '  case ${COMP_WORDS[1]} in\n'
  for s in $subs; do
    opts=$("$bin" "$s" --help 2>/dev/null | grep -oE '^  (-[a-z],)?--?[a-z-]+' | tr ',' ' ' | xargs)
    printf '    %s) opts="%s" ;;\n' "$s" "$opts"
  done
  printf '  esac\n  COMPREPLY=($(compgen -W "$opts" -- "$cur"))\n}\ncomplete -F _vbhctl vbhctl\n'
}

vbhctl_man() { # vbhctl_man BINARY: section 8 page; subcommands from their own --help
  local bin=$1 inc s
  inc=$(mktemp)
  {
    printf '[COMMANDS]\n'
    for s in $("$bin" --help | awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }'); do
      printf '.SS "%s"\n.nf\n' "$s"
      "$bin" "$s" --help | sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./'
      printf '.fi\n'
    done
    cat "$pkg/vbhctl/man.h2m"
  } > "$inc"
  help2man --no-info --section 8 --version-string "$version" --include "$inc" \
    --name 'inspect and call the vbh thin hypervisor' "$bin"
  rm -f "$inc"
}

built_using() { # the source packages statically linked into vbhctl (Debian policy 7.8)
  local p src list=()
  for p in libc6-dev libstdc++-12-dev; do
    src=$(dpkg-query -W -f='${source:Package} (= ${source:Version})' "$p" 2>/dev/null) || continue
    list+=("$src")
  done
  (IFS=,; echo "${list[*]}" | sed 's/,/, /g')
}

vbhctl_deb() {
  local st=$out/stage/vbhctl bin=$bdir/tools/vbhctl ctl=$out/stage/vbhctl.control
  rm -rf "$st" "$ctl"; install -d "$st/usr/sbin" "$st/usr/share/man/man8" \
    "$st/usr/share/bash-completion/completions" "$st/usr/share/lintian/overrides" "$ctl"
  install -m 755 "$bin" "$st/usr/sbin/vbhctl"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$st/usr/sbin/vbhctl"
  vbhctl_man "$bin" | gzip -9n > "$st/usr/share/man/man8/vbhctl.8.gz"
  vbhctl_completion "$bin" > "$st/usr/share/bash-completion/completions/vbhctl"
  chmod 644 "$st/usr/share/bash-completion/completions/vbhctl"
  install -m 644 "$pkg/vbhctl/lintian-overrides" "$st/usr/share/lintian/overrides/vbhctl"
  doc_dir "$st" vbhctl
  cp "$pkg/vbhctl/control" "$ctl/control"
  fill "$ctl/control" BUILT_USING="$(built_using)"
  finish "$st" "$ctl"
}

lint() { # lintian on both packages: errors fail, the rest is listed (docs/packaging.md)
  local deb rc=0 text
  for deb in "$out/vbh-dkms_${version}_all.deb" "$out/vbhctl_${version}_amd64.deb"; do
    text=$(lintian --tag-display-limit 0 --display-info "$deb" 2>&1 | grep -v "^running with root") || true
    echo "lintian ${deb##*/}: ${text:-clean}" >&2
    if grep -q '^E: ' <<< "$text"; then rc=1; fi
  done
  return $rc
}

deps
build
rm -rf "$out"; mkdir -p "$out/stage"
dkms_deb
vbhctl_deb
rm -rf "$out/stage"
lint || { log "lintian reported errors"; exit 1; }
log "ok: $(cd "$out" && echo ./*.deb)  (version $version from packaging/VERSION)"
if [ $check = 1 ]; then exec "$root/tools/package-test.sh"; fi
