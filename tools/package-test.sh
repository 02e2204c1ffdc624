#!/usr/bin/env bash
# Prove the packages of tools/package.sh on this machine (root; meant for a throwaway CI
# machine: it installs and purges packages system-wide). docs/packaging.md.
#   1. the headers of Debian's 6.12 and 6.1 kernels are installed (qemu-nested/kernel.sh);
#   2. a fake kernel whose headers cannot build anything is added, so that one failing
#      kernel is exercised;
#   3. apt-get installs both .debs: vbh.ko must be built and installed by DKMS for every
#      real kernel with headers (dkms status, the file, its vermagic), the fake kernel's
#      failure must be reported and must not fail the installation;
#   4. vbhctl --help, its man page and its bash completion;
#   5. purge: nothing of vbh may be left (/usr/src/vbh-*, /var/lib/dkms/vbh,
#      /lib/modules/*/updates/dkms/vbh.ko*, the files of vbhctl).
# The DKMS-built modules are kept in out/pkg/dkms/<kernel>/vbh.ko first.
#   --boot   then boot Debian's 6.1 kernel under QEMU with that DKMS-built vbh.ko
#            (scenario launch, smp 2, 10 s workload): qemu-nested/build.sh --series 6.1
#            --vbh-ko ..., boot.sh --series 6.1
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/out/pkg
boot=0
case ${1:-} in
  "") ;; --boot) boot=1 ;;
  *) echo "usage: $0 [--boot]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "package-test: needs root (installs packages)" >&2; exit 2; }
version=$(tr -d ' \n' < "$root/packaging/VERSION")
dkms_deb=$out/vbh-dkms_${version}_all.deb ctl_deb=$out/vbhctl_${version}_amd64.deb
[ -r "$dkms_deb" ] && [ -r "$ctl_deb" ] || { echo "package-test: run tools/package.sh first" >&2; exit 2; }

fails=0
ok() { echo "package-test: ok   $*"; }
bad() { echo "package-test: FAIL $*"; fails=$((fails + 1)); }
apt_get() { # apt_get ARGS...: another helper may hold the dpkg lock: wait and retry
  local try
  for try in 1 2 3 4 5 6; do
    DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 "$@" && return 0
    echo "package-test: apt-get $1 failed (try $try), retrying in 20 s" >&2; sleep 20
  done
  return 1
}

# 1. Both kernel series' headers (images too: kernel.sh's default, and --boot needs 6.1's).
"$root/qemu-nested/kernel.sh" > /dev/null || bad "Debian 6.12 kernel and headers"
"$root/qemu-nested/kernel.sh" --series 6.1 > /dev/null || bad "Debian 6.1 kernel and headers"
dpkg-query -W -f='${Status}' dkms 2>/dev/null | grep -q 'install ok installed' ||
  apt_get install --no-install-recommends dkms > /dev/null || bad "apt-get install dkms"

kernels=()  # every kernel with headers, the set DKMS must cover
for d in /lib/modules/*/; do
  d=${d%/}
  [ -e "$d/build/include" ] && kernels+=("${d##*/}")
done
[ ${#kernels[@]} -ge 2 ] || bad "expected the 6.12 and 6.1 headers, have: ${kernels[*]}"

# 2. A kernel whose "headers" fail every build: DKMS must report it, not abort.
broken=0.0.0-vbh-broken
rm -rf "/lib/modules/$broken"
mkdir -p "/lib/modules/$broken/build/include"
printf 'modules:\n\t@echo "deliberately broken headers (tools/package-test.sh)"; false\n' \
  > "/lib/modules/$broken/build/Makefile"
cleanup() { rm -rf "/lib/modules/$broken" "/var/lib/dkms/vbh/$version/$broken"; }
trap cleanup EXIT

# Start from nothing (an earlier run may have stopped half-way).
apt_get purge vbh-dkms vbhctl > /dev/null 2>&1

# 3. Install both with apt (as a user would: it resolves dkms, make, gcc).
inst=$out/install.log
if apt_get install "$dkms_deb" "$ctl_deb" > "$inst" 2>&1; then ok "apt-get install of both packages"
else bad "apt-get install (log: $inst)"; tail -n 30 "$inst"; fi
grep -E '^vbh-dkms:' "$inst"
for p in vbh-dkms vbhctl; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] &&
    ok "$p is installed (dpkg: install ok installed)" || bad "$p not fully installed"
done
grep -q "^vbh-dkms: $broken: FAILED" "$inst" && ok "the broken kernel's build failure is reported" ||
  bad "no failure reported for $broken"
echo "dkms status:"; dkms status vbh | sed 's/^/  /'
rm -rf "$out/dkms"
for k in "${kernels[@]}"; do
  st=$(dkms status -m vbh -v "$version" -k "$k" 2>/dev/null)
  ko=$(find "/lib/modules/$k/updates/dkms" -name 'vbh.ko*' 2>/dev/null | head -n1)
  vm=$( [ -n "$ko" ] && modinfo -F vermagic "$ko" | cut -d' ' -f1)
  if [[ $st == *": installed"* ]] && [ -n "$ko" ] && [ "$vm" = "$k" ]; then
    ok "$k: dkms '$st', ${ko#/lib/modules/"$k"/}, vermagic $vm"
    mkdir -p "$out/dkms/$k"; cp "$ko" "$out/dkms/$k/"
  else
    bad "$k: dkms status '$st', module '${ko:-none}', vermagic '${vm:-?}'"
  fi
done

# 4. vbhctl: the binary, its man page and completion.
if vbhctl --help | grep -q '^Usage: vbhctl'; then ok "vbhctl --help"; else bad "vbhctl --help"; fi
man -w vbhctl > /dev/null 2>&1 && MANWIDTH=80 man vbhctl 2>/dev/null | grep -q 'EXIT STATUS' &&
  ok "man vbhctl ($(man -w vbhctl))" || bad "man page of vbhctl"
bash -c '. /usr/share/bash-completion/completions/vbhctl; COMP_WORDS=(vbhctl lo); COMP_CWORD=1
         _vbhctl; [ "${COMPREPLY[*]}" = log ]' && ok "bash completion: 'vbhctl lo' -> log" ||
  bad "bash completion"

# 5. Purge: nothing may be left.
if apt_get purge vbh-dkms vbhctl > "$out/purge.log" 2>&1; then ok "apt-get purge of both"
else bad "apt-get purge (log: $out/purge.log)"; fi
left=$(ls -d /usr/src/vbh-* /var/lib/dkms/vbh /lib/modules/*/updates/dkms/vbh.ko* \
  /usr/sbin/vbhctl /usr/share/man/man8/vbhctl.8.gz /usr/share/bash-completion/completions/vbhctl \
  /usr/share/doc/vbh-dkms /usr/share/doc/vbhctl 2>/dev/null)
[ -z "$left" ] && ok "nothing left after purge" || bad "left after purge: $(echo $left)"
dpkg-query -W vbh-dkms vbhctl > /dev/null 2>&1 && bad "dpkg still knows the packages" ||
  ok "dpkg knows neither package"
cleanup; trap - EXIT

# --boot: the 6.1 kernel under QEMU with the module DKMS built.
if [ $boot = 1 ]; then
  ko=$(find "$out/dkms" -path '*/6.1.*/vbh.ko*' | head -n1)
  if [ -z "$ko" ]; then bad "no DKMS-built vbh.ko for 6.1 to boot"
  elif [[ $ko == *.xz ]] || [[ $ko == *.zst ]]; then bad "compressed module $ko: busybox insmod cannot load it"
  elif "$root/qemu-nested/build.sh" --series 6.1 --vbh-ko "$ko" > "$out/build-6.1.log" 2>&1; then
    cp "$root/out/qemu/initramfs-6.1.cpio.gz" "$out/initramfs-6.1-dkms.cpio.gz"
    "$root/qemu-nested/boot.sh" --no-build --series 6.1 --initrd "$out/initramfs-6.1-dkms.cpio.gz" \
      --scenario launch --smp 2 --append vbh.workload_secs=10 --append vbh.baseline_secs=5 &&
      ok "6.1 boot with the DKMS-built $ko" || bad "6.1 boot with the DKMS-built vbh.ko"
  else
    bad "qemu-nested/build.sh --series 6.1 --vbh-ko $ko (log: $out/build-6.1.log)"
  fi
fi

echo "package-test: $fails failure(s)"
[ $fails -eq 0 ]
