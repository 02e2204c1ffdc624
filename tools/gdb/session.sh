#!/usr/bin/env bash
# A scripted gdb session against the QEMU guest (docs/debugging.md), also a test of the
# debugging tools: boot the "debug" scenario with boot.sh --gdb, release the machine,
# wait until vbh.ko is loaded and its sections are printed, then attach gdb in batch
# mode: load the symbols (vbh-symbols), break in the hypervisor's hypercall handler,
# let a guest VBH_HC_STATS_READ (vbhctl stats) hit it, show the call, step into the core's dispatch; at
# the next hit, finish the handler (the call's result), detach. Passes when
# gdb stopped in the hypervisor at the breakpoint for a STATS_READ call that returned OK,
# and the guest scenario then passed too.
#   tools/gdb/session.sh [--no-build] [--port N]     transcript: out/gdb/session.txt
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/out/gdb
port=1234 build=1
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;; --port) port=${2:?}; shift ;;
    *) echo "usage: $0 [--no-build] [--port N]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
command -v gdb > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdb > /dev/null
if [ $build = 1 ]; then "$root/qemu-nested/build.sh" > "$out/build.log" 2>&1 || { echo "build failed: $out/build.log"; exit 1; }; fi
initrd=$out/initramfs.cpio.gz  # a private copy: others may rebuild out/qemu meanwhile
cp "$root/out/qemu/initramfs.cpio.gz" "$initrd"
cp "$root/out/qemu/vbh.ko" "$out/vbh.ko"

console=$out/console.txt
"$root/qemu-nested/boot.sh" --no-build --initrd "$initrd" --gdb-port "$port" --verbose \
  --scenario debug --append vbh.debug_secs=20 > "$console" 2>&1 &
bpid=$!
trap 'kill $bpid 2>/dev/null' EXIT
cd "$root" || exit 1
g() { # gdb in batch mode; trace-commands echoes each command ("+cmd") into the transcript
  timeout 300 gdb -q -batch -nx -ex 'set trace-commands on' -x tools/gdb/vbh.gdb \
    -ex "target remote :$port" "$@" 2>&1
}

for _ in $(seq 60); do grep -q 'QEMU waits for gdb' "$console" && break; sleep 1; done
sleep 2
g -ex 'info threads' -ex detach > "$out/release.txt"  # QEMU -S: start the machine
for _ in $(seq 600); do grep -q 'VBH-INFO gdb-ready' "$console" && break; sleep 1; done
grep -q 'VBH-INFO gdb-ready' "$console" || { echo "the debug scenario never got ready"; tail "$console"; exit 1; }

g -ex "vbh-symbols $console $out/vbh.ko" \
  -ex "break 'vbh::local_hypercall<vbh::image::HypEnv>'" \
  -ex continue \
  -ex 'info threads' \
  -ex 'bt 3' \
  -ex 'print/x a' \
  -ex 'print/x $rip - $vbh_base' \
  -ex 'next' \
  -ex 'step' \
  -ex 'bt 2' \
  -ex continue \
  -ex 'print/x a' \
  -ex 'finish' \
  -ex 'delete' \
  -ex detach > "$out/session.txt"
cat "$out/session.txt"
wait $bpid; rc=$?
trap - EXIT
tail -n 12 "$console"

ok=1
grep -q "Breakpoint 1, vbh::local_hypercall<vbh::image::HypEnv>" "$out/session.txt" || { echo "session: breakpoint not hit"; ok=0; }
grep -Eq "rax = 0x40,|rax = 0x40$" "$out/session.txt" || { echo "session: the call was not VBH_HC_STATS_READ (0x40)"; ok=0; }
tr -d ' \n' < "$out/session.txt" | grep -q 'Valuereturnedis$[0-9]*={status=vbh::Status::ok,' ||
  { echo "session: finish did not return status ok"; ok=0; }
[ $rc = 0 ] || { echo "session: the guest scenario failed"; ok=0; }
[ $ok = 1 ] && echo "gdb session: PASS (transcript $out/session.txt)"
[ $ok = 1 ]
