# shellcheck shell=dash
# boot: --smp 2 --timeout 600
# For a debugger on the QEMU gdb stub (boot.sh --gdb, tools/gdb/, docs/debugging.md):
# load vbh.ko, print where its ELF sections are (gdb loads the module's symbols there
# and reads the hypervisor's address from it), then make hypercalls for a while so that
# a breakpoint in the hypervisor's hypercall handler is hit: VBH_HC_STATS_READ through
# `vbhctl stats` (VERSION is answered inline on the exit path and never reaches
# local_hypercall, docs/exit-cost.md). Every call must succeed, also while gdb holds
# the machine.
#   vbh.debug_secs=N   how long to keep calling, on every CPU in turn (default 60)
ko=/lib/vbh/vbh.ko
secs=$(param debug_secs 60)
if ! insmod "$ko" > /tmp/vbh/insmod.out 2>&1; then
  fail insmod "$(cat /tmp/vbh/insmod.out)"; exit 0
fi
check_status status /sys/kernel/vbh/status
# One line per allocated section: gdb's add-symbol-file needs .text and the others
# (vbh_loader, which holds the hypervisor's address, is in .bss).
n=0
for f in /sys/module/vbh/sections/.*; do
  [ -f "$f" ] || continue
  echo "VBH-INFO gdb-section ${f##*/} $(cat "$f")"; n=$((n + 1))
done
[ "$n" -gt 0 ] && pass module_sections "$n sections of vbh.ko printed" ||
  fail module_sections "/sys/module/vbh/sections is empty"
info "gdb-ready: calling VBH_HC_STATS_READ on every CPU for $secs s"
t_end=$(( $(now_ms) + secs * 1000 )) calls=0 bad=0
while [ "$(now_ms)" -lt "$t_end" ]; do
  for c in $(seq 0 $(($(online_cpus) - 1))); do
    if taskset -c "$c" vbhctl stats > /dev/null 2>&1; then calls=$((calls + 1)); else bad=$((bad + 1)); fi
  done
  sleep 1
done
[ "$calls" -gt 0 ] && [ "$bad" = 0 ] && pass hypercalls "$calls vbhctl stats (VBH_HC_STATS_READ) calls answered" ||
  fail hypercalls "$calls answered, $bad failed"
check_status status_after /sys/kernel/vbh/status
