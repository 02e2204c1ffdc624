#!/usr/bin/env bash
# vbhctl in QEMU against a running vbh: stats table and JSON, log --follow, bench,
# errors. Boots the standard test initramfs (qemu-nested/build.sh) with one more cpio
# appended that adds the scenario guest_check.sh, so no scenario file of the test
# suite changes. The JSON the guest printed is validated here with python3.
#   tools/vbhctl/qemu_check.sh [--smp N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/out/qemu
work=$(mktemp -d /tmp/vbhctl-qemu.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$root/qemu-nested/build.sh" > "$work/build.log" 2>&1 || { tail -n 20 "$work/build.log"; exit 1; }
mkdir -p "$work/st/lib/vbh/scenarios"
cp "$here/guest_check.sh" "$work/st/lib/vbh/scenarios/vbhctl_check.sh"
(cd "$work/st" && find . | cpio -o -H newc --quiet | gzip) > "$work/extra.cpio.gz"
cat "$out/initramfs.cpio.gz" "$work/extra.cpio.gz" > "$work/initrd.cpio.gz"

# --scenario launch passes boot.sh's check for a known name; the last vbh.scenario= on
# the command line is the one /init runs.
set +e
"$root/qemu-nested/boot.sh" --no-build --initrd "$work/initrd.cpio.gz" --scenario launch \
  --append vbh.scenario=vbhctl_check --timeout 300 "$@" | tee "$work/boot.out"
rc=${PIPESTATUS[0]}
set -e
log=$(sed -n 's/.*\(\/[^ ]*\/logs\/[^ ]*\.log\).*/\1/p' "$work/boot.out" | tail -n1)
[ -r "$log" ] || log=$(ls -t "$out"/logs/*-launch-smp*.log | head -n1)
sed -n 's/^.*VBHCTL-OUT //p' "$log" | tr -d '\r' > "$work/vbhctl.out"
cat "$work/vbhctl.out"
sed -n '/^--- json$/,/^--- end json$/p' "$work/vbhctl.out" | sed '1d;$d' > "$work/stats.json"
if python3 -m json.tool "$work/stats.json" > /dev/null; then
  echo "host: stats --json is valid JSON ($(wc -c < "$work/stats.json") bytes)"
else
  echo "host: FAIL: stats --json is not valid JSON"; rc=1
fi
exit "$rc"
