#!/usr/bin/env bash
# Find (and install if missing) a Debian kernel image + the headers of the SAME version.
# Prints shell-evaluable lines:  KVER=...  VMLINUZ=...  KDIR=...
#   qemu-nested/kernel.sh                 newest 6.12.N+deb12-amd64 (image + headers)
#   qemu-nested/kernel.sh --series 6.1    newest 6.1.0-N-amd64
#   ... --headers-only                    headers only (compile checks); VMLINUZ is empty
# Versions are discovered, never hard-coded: Debian keeps a few point releases in the
# registry and drops old ones. A version qualifies when both packages are installed or
# installable; the newest qualifying one wins. Usage: eval "$(qemu-nested/kernel.sh)"
set -euo pipefail

series=6.12 headers_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --series) series=${2:?--series needs 6.12 or 6.1}; shift 2 ;;
    --headers-only) headers_only=1; shift ;;
    *) echo "usage: $0 [--series 6.12|6.1] [--headers-only]" >&2; exit 2 ;;
  esac
done

case $series in  # regex over header package names; group 1 is the kernel release
  6.12) hdr_re='^linux-headers-(6\.12\.[0-9]+\+deb12-amd64)$' ;;
  6.1)  hdr_re='^linux-headers-(6\.1\.0-[0-9]+-amd64)$' ;;
  *) echo "kernel.sh: unsupported series '$series' (6.12 or 6.1)" >&2; exit 2 ;;
esac

# (grep reads all input: with pipefail, grep -q could SIGPIPE the producer)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep 'install ok installed' >/dev/null; }
installable() { apt-cache policy "$1" 2>/dev/null | grep '^ *Candidate: [0-9]' >/dev/null; }
usable() { installed "$1" || installable "$1"; }

packages_for() { # KVER -> the package names this run needs
  echo "linux-headers-$1"
  [ "$headers_only" = 1 ] || echo "linux-image-$1-unsigned"
}

candidates() { # every kernel release of the series apt or dpkg knows, newest first
  { apt-cache pkgnames linux-headers-"$series" 2>/dev/null
    dpkg-query -W -f='${Package}\n' "linux-headers-$series*" 2>/dev/null
  } | sed -nE "s/$hdr_re/\1/p" | sort -uVr
}

pick() {
  local kver p ok
  for kver in $(candidates); do
    ok=1
    for p in $(packages_for "$kver"); do usable "$p" || { ok=0; break; }; done
    [ $ok = 1 ] && { echo "$kver"; return 0; }
  done
  return 1
}

apt_install() {
  local SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  local try
  for try in 1 2 3 4 5 6; do  # another helper may hold the dpkg lock: wait and retry
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" \
      >/dev/null && return 0
    echo "kernel.sh: apt-get install failed (try $try), retrying in 20 s" >&2
    sleep 20
  done
  return 1
}

kver=$(pick) || {
  echo "kernel.sh: no $series kernel with matching headers in apt; running apt-get update" >&2
  apt-get update -qq >&2 || true
  kver=$(pick) || { echo "kernel.sh: no usable linux-headers for series $series" >&2; exit 1; }
}

missing=()
for p in $(packages_for "$kver"); do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "kernel.sh: installing ${missing[*]}" >&2
  apt_install "${missing[@]}" || {
    # The list may be stale (a point release vanished from the mirror): refresh once.
    apt-get update -qq >&2 || true
    kver=$(pick) && mapfile -t missing < <(packages_for "$kver") && apt_install "${missing[@]}"
  }
fi

kdir=/lib/modules/$kver/build
[ -e "$kdir/Makefile" ] || kdir=/usr/src/linux-headers-$kver
[ -e "$kdir/Makefile" ] || { echo "kernel.sh: headers for $kver not found at $kdir" >&2; exit 1; }
vmlinuz=
if [ "$headers_only" = 0 ]; then
  vmlinuz=/boot/vmlinuz-$kver
  [ -r "$vmlinuz" ] || { echo "kernel.sh: $vmlinuz missing or unreadable" >&2; exit 1; }
fi
printf 'KVER=%q\nVMLINUZ=%q\nKDIR=%q\n' "$kver" "$vmlinuz" "$kdir"
