# shellcheck shell=dash
# Guest scenario (sourced by qemu-nested's /init with its lib.sh). 1. After vbh has
# deprivileged every CPU, the host's own kvm_amd loads on top of it (the host's SVM is
# emulated: svm/host_svm.hpp, docs/svm-host.md): its hardware enable sets the host's
# EFER.SVME and VM_HSAVE_PA on every CPU, its unload clears them, and it loads again.
# The host's VMSAVE/VMLOAD round-trip its FS/GS bases through a page of its RAM, and
# are refused (#GP, logged) on vbh's own control block. A VM and a vCPU are created
# (kvmprobe). kvm_amd is reloaded with npt=0 and vbh-vmm's guest runs under vbh
# (nested SVM, docs/nested.md): its checks must equal the bare run's
# (vmm_vbh_same_as_bare); then again with npt=1, on vbh's shadow NPT
# (vmm_vbh_npt_same_as_bare). After each run, while KVM is loaded, vbh holds nested
# state (its gauges in /sys/kernel/vbh/stats); kvm_amd's unload clears EFER.SVME on
# every CPU and every gauge must read 0 then, with the drops counted. Last, with
# kvm.enable_virt_at_load=0 a VM's teardown itself clears SVME: a short vbh-vmm run
# must leave no state either (docs/nested.md, "State and teardown").
# Packed by run.sh with kvm's modules and kvmprobe.
# 2. Cross-CPU invalidation (below).
# 0. First, on the bare kernel: kvm_amd on QEMU's emulated SVM runs vbh-vmm's guest
# (vmm_run, lib.sh), its checks and L2 round-trip figures; then KVM is unloaded again.
ko=/lib/vbh/vbh.ko
kd=/lib/vbh/kvm
check cpu_has_svm cpu_has svm

kvm_load() { # kvm_load: insmod KVM and kvm_amd; 1 (and a failed check NAME) if not
  local m
  for m in irqbypass ccp kvm kvm-amd; do
    insmod "$kd/$m.ko" > /tmp/vbh/kvm.out 2>&1 ||
      { fail "$1" "insmod $m: $(cat /tmp/vbh/kvm.out) $(dmesg | tail -n3)"; return 1; }
  done
}
kvm_unload() { # kvm_unload NAME: rmmod what kvm_load loaded
  local m
  for m in kvm_amd kvm ccp irqbypass; do
    rmmod "$m" > /tmp/vbh/kvm.out 2>&1 || { fail "$1" "rmmod $m: $(cat /tmp/vbh/kvm.out)"; return 1; }
  done
  pass "$1" "kvm_amd kvm ccp irqbypass"
}
stats_sum() { # stats_sum: "total_exits l2_exits l2_reflected", summed over CPUs
  awk '{ for (i = 1; i <= NF; i++) { split($i, a, "="); s[a[1]] += a[2] } }
       END { printf "%d %d %d", s["total_exits"], s["l2_exits"], s["l2_reflected"] }' /sys/kernel/vbh/stats
}
nested_cost() { # nested_cost BEFORE AFTER: what an L2 exit cost vbh during the VMM run
  # Every L2 exit is one #VMEXIT of the L2 block (l2_exits); every exit of the host's
  # block, and every L2 exit vbh handles itself, is counted in total_exits. Per exit the
  # host handles (l2_reflected): the host-side exits it costs (KVM's VMLOAD, VMSAVE,
  # CLGI, STGI and VMRUN, plus whatever else the host did meanwhile), and all of vbh's
  # world switches (those, plus the L2's own exits; an L2 exit vbh handles itself is in
  # both counts, so this is an upper bound). The bench report shows both next to the
  # round-trip ratio (docs/benchmarks.md, "Nested SVM").
  local t l r per all
  echo "$1 $2" | awk '{ t = $4 - $1; l = $5 - $2; r = $6 - $3
    if (r <= 0) { print "none"; exit }
    printf "%d %d %d %.2f %.2f", t, l, r, t / r, (t + l) / r }' > /tmp/vbh/nested.cost
  read -r t l r per all < /tmp/vbh/nested.cost
  if [ "$t" = none ]; then fail nested_exit_cost "no L2 exit reflected during the run"; return; fi
  metric nested_host_exits_per_l2_exit "$per" exits
  metric nested_vbh_exits_per_l2_exit "$all" exits
  pass nested_exit_cost "$r L2 exits reflected: $t host-side exits ($per each), $l L2 exits, $all vbh exits each"
}
vmm_mark=$(dmesg_mark)
if kvm_load kvm_bare_load; then
  check kvm_bare_dev test -c /dev/kvm
  vmm_run bare --iterations "$(param vmm_iterations 2000)"
  kvm_unload kvm_bare_unload
fi
dmesg_clean kernel_log_clean_bare_kvm "$vmm_mark"
mark=$(dmesg_mark)
if ! insmod "$ko" > /tmp/vbh/insmod.out 2>&1; then
  fail insmod "$(cat /tmp/vbh/insmod.out)"; exit 0
fi
check_status status /sys/kernel/vbh/status
CTL=/sys/kernel/debug/vbh_attack/ctl
atk() { if echo "$*" > "$CTL" 2>/dev/null; then cat "$CTL"; else echo "result=error"; fi; }
st() { grep "^cpu=$1 " /sys/kernel/vbh/stats | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
# The nested-state gauges (vbh/stats.h) of every CPU, "cpuN:name=V,..." words; their
# sum; the sum of l2_state_drops (SVME clears that dropped state).
gauge_re='^(l2_asids|l2_shadow_pages|l2_vmcb12|l2_running|host_svme|host_hsave)$'
gauges() { awk -v re="$gauge_re" '{ g = ""; for (i = 2; i <= NF; i++) { split($i, a, "=")
             if (a[1] ~ re) g = g "," a[1] "=" a[2] } printf "%s:%s ", $1, substr(g, 2) }' /sys/kernel/vbh/stats; }
gauge_sum() { awk -v re="$gauge_re" '{ for (i = 2; i <= NF; i++) { split($i, a, "=")
                if (a[1] ~ re) s += a[2] } } END { print s + 0 }' /sys/kernel/vbh/stats; }
drops_sum() { awk '{ for (i = 2; i <= NF; i++) { split($i, a, "=")
                if (a[1] == "l2_state_drops") s += a[2] } } END { print s + 0 }' /sys/kernel/vbh/stats; }
# state_held NAME: a guest ran and KVM is still loaded: vbh holds some of its state
# (an ASID and the VMCB12 copy on a CPU that ran it), NAME's check.
state_held() {
  local h
  h=$(awk '{ for (i = 2; i <= NF; i++) { split($i, a, "=")
         if (a[1] == "l2_asids" || a[1] == "l2_vmcb12") s += a[2] } } END { print s + 0 }' /sys/kernel/vbh/stats)
  [ "$h" -gt 0 ] && pass "$1" "$(gauges)" || fail "$1" "nothing held after a guest ran: $(gauges)"
}
# state_dropped NAME DROPS_BEFORE: every CPU's gauges read 0 and drops were counted.
state_dropped() {
  local s d
  s=$(gauge_sum) d=$(drops_sum)
  if [ "$s" = 0 ] && [ "$d" -gt "$2" ]; then pass "$1" "l2_state_drops $2 -> $d, $(gauges)"
  else fail "$1" "gauge sum $s, l2_state_drops $2 -> $d: $(gauges)"; fi
}
insmod "$(find /lib/vbh -name vbh_attack.ko | head -n1)" 2>/dev/null
[ -w "$CTL" ] || { fail attack_module "vbh_attack.ko not loadable"; exit 0; }
# svm_state WANT: EFER.SVME and VM_HSAVE_PA as the host reads them on every CPU;
# WANT=on: SVME set and a page-aligned non-zero VM_HSAVE_PA; off: both clear.
svm_state() {
  local c e h bad= all=
  for c in $(seq 0 $(($(online_cpus) - 1))); do
    e=$(kv value "$(atk @"$c" msr_read 0xc0000080)")
    h=$(kv value "$(atk @"$c" msr_read 0xc0010117)")
    all="$all cpu$c:efer=$e,hsave=$h"
    if [ "$1" = on ]; then
      [ $((${e:-0} & 0x1000)) != 0 ] && [ "${h:-0}" != 0x0 ] && [ $((${h:-1} & 0xfff)) = 0 ] || bad=1
    else
      [ $((${e:-0x1000} & 0x1000)) = 0 ] && [ "${h:-1}" = 0x0 ] || bad=1
    fi
  done
  [ -z "$bad" ] && echo "ok$all" || echo "bad$all"
}
for m in irqbypass ccp kvm; do
  if insmod "$kd/$m.ko" > /tmp/vbh/kvm.out 2>&1; then pass "insmod_$m" loaded
  else fail "insmod_$m" "$(cat /tmp/vbh/kvm.out)"; fi
done
if insmod "$kd/kvm-amd.ko" > /tmp/vbh/kvm.out 2>&1 && [ -c /dev/kvm ]; then
  pass kvm_amd_loads "/dev/kvm present: $(dmesg_since "$mark" | grep -E 'kvm_amd|kvm:' | tail -n2 | tr '\n' ' ')"
else
  fail kvm_amd_loads "$(cat /tmp/vbh/kvm.out | tr '\n' ' ') $(dmesg_since "$mark" | tail -n3 | tr '\n' ' ')"
fi
# kvm.enable_virt_at_load (6.12, default Y): SVM is enabled on every CPU at load.
r=$(svm_state on)
case $r in ok*) pass kvm_amd_enabled_svm "${r#ok}" ;;
  *) fail kvm_amd_enabled_svm "enable_virt_at_load=$(cat /sys/module/kvm/parameters/enable_virt_at_load 2>/dev/null):${r#bad}" ;; esac
for c in 0 1; do
  r=$(atk @"$c" vmsave_roundtrip)
  [ "$(kv result "$r")" = roundtrip ] && pass "vmsave_vmload_cpu$c" "$(echo "$r" | tr '\n' ' ')" \
    || fail "vmsave_vmload_cpu$c" "$(echo "$r" | tr '\n' ' ')"
done
# vbh's own control blocks (CPU 0's host VMCB first): VMSAVE would overwrite it,
# VMLOAD read it; both must #GP (trap 13) and be logged with the address.
cb=$(awk '$1 == "control_blocks" { print $2 }' /sys/kernel/vbh/hyp_layout 2>/dev/null)
if [ -n "$cb" ]; then
  r1=$(atk @0 vmsave "$cb"); r2=$(atk @0 vmload "$cb")
  # The loader's log (this boot runs the product vbh.ko, whose LOG_READ writes only
  # the loader's own output frames): one entry each for that address ("first"
  # lines, the per-kind summary, are not counted).
  lg=$(grep -c "^seq=.* kind=virt_insn addr=0x$(printf '%x' $((cb << 12))) " /sys/kernel/vbh/log)
  if [ "$(kv result "$r1")" = fault ] && [ "$(kv trap "$r1")" = 13 ] && [ "$(kv result "$r2")" = fault ] \
     && [ "$(kv trap "$r2")" = 13 ] && [ "$lg" = 2 ]; then
    pass hyp_frame_refused "pfn $cb: vmsave $(kv result "$r1") trap $(kv trap "$r1"), vmload $(kv result "$r2") trap $(kv trap "$r2"), $lg log entries"
  else
    fail hyp_frame_refused "pfn $cb: vmsave: $(echo "$r1" | tr '\n' ' ') vmload: $(echo "$r2" | tr '\n' ' ') log entries: $lg"
  fi
else
  fail hyp_frame_refused "no control_blocks in /sys/kernel/vbh/hyp_layout"
fi
if rmmod kvm_amd > /tmp/vbh/kvm.out 2>&1; then pass kvm_amd_unloads "rmmod kvm_amd"
else fail kvm_amd_unloads "$(cat /tmp/vbh/kvm.out)"; fi
r=$(svm_state off)
case $r in ok*) pass kvm_amd_disabled_svm "${r#ok}" ;; *) fail kvm_amd_disabled_svm "${r#bad}" ;; esac
# Reloaded with npt=0: vbh runs the host's guests on its own host NPT (docs/nested.md).
if insmod "$kd/kvm-amd.ko" npt=0 > /tmp/vbh/kvm.out 2>&1 && [ "$(svm_state on | cut -c1-2)" = ok ]; then
  pass kvm_amd_reloads "loaded again (npt=$(cat /sys/module/kvm_amd/parameters/npt)), SVM enabled on every CPU"
  n0=$(stats_sum)
  vmm_run vbh --iterations "$(param vmm_iterations 2000)"
  nested_cost "$n0" "$(stats_sum)"
  l2=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^l2_(entries|reflected)=/) { split($i, a, "="); s[a[1]] += a[2] } }
            END { printf "l2_entries=%d l2_reflected=%d", s["l2_entries"], s["l2_reflected"] }' /sys/kernel/vbh/stats)
  n=$(echo "$l2" | sed 's/.*l2_reflected=//')
  [ "${n:-0}" -gt 0 ] && pass l2_stats "$l2" || fail l2_stats "$l2"
  state_held nested_state_held
else
  fail kvm_amd_reloads "$(cat /tmp/vbh/kvm.out | tr '\n' ' ') $(svm_state on)"
fi
# Reloaded with npt=1 (KVM's default): the guest runs on vbh's shadow of KVM's nested
# table, filled on its nested page faults (docs/nested.md, "Shadow NPT"); same checks.
l2sum() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^l2_shadow_(fills|drops)=/) { split($i, a, "="); s[a[1]] += a[2] } }
               END { printf "%d %d", s["l2_shadow_fills"], s["l2_shadow_drops"] }' /sys/kernel/vbh/stats; }
# kvm_amd's unload clears EFER.SVME on every CPU: vbh drops what the npt=0 run left.
d0=$(drops_sum)
if rmmod kvm_amd > /tmp/vbh/kvm.out 2>&1; then state_dropped nested_state_dropped "$d0"
else fail kvm_amd_unloads_npt0 "$(cat /tmp/vbh/kvm.out)"; fi
if insmod "$kd/kvm-amd.ko" npt=1 > /tmp/vbh/kvm.out 2>&1 \
   && [ "$(cat /sys/module/kvm_amd/parameters/npt)" = Y ]; then
  b=$(l2sum)
  vmm_run vbh_npt --iterations "$(param vmm_iterations 2000)"
  a=$(l2sum)
  d="l2_shadow_fills +$((${a% *} - ${b% *})) l2_shadow_drops +$((${a#* } - ${b#* }))"
  [ "$((${a% *} - ${b% *}))" -gt 0 ] && pass l2_shadow_stats "$d" || fail l2_shadow_stats "$d"
  state_held nested_state_held_npt
  d0=$(drops_sum)
  if rmmod kvm_amd > /tmp/vbh/kvm.out 2>&1; then state_dropped nested_state_dropped_npt "$d0"
  else fail kvm_amd_unloads_npt1 "$(cat /tmp/vbh/kvm.out)"; fi
else
  fail kvm_amd_npt1 "$(cat /tmp/vbh/kvm.out | tr '\n' ' ')"
fi
# kvm.enable_virt_at_load=0: SVM is enabled when a VM is created and disabled when the
# last one is destroyed. A short vbh-vmm run, KVM left loaded: its VM's teardown must
# drop what vbh held for it (SVME off on every CPU, every gauge 0, drops counted).
rmmod kvm_amd 2>/dev/null
if rmmod kvm > /tmp/vbh/kvm.out 2>&1 && insmod "$kd/kvm.ko" enable_virt_at_load=0 > /tmp/vbh/kvm.out 2>&1 \
   && insmod "$kd/kvm-amd.ko" > /tmp/vbh/kvm.out 2>&1 && [ "$(svm_state off | cut -c1-2)" = ok ]; then
  d0=$(drops_sum)
  vbh-vmm --iterations 50 > /tmp/vbh/vmm-teardown.out 2>&1; rc=$?
  r=$(svm_state off)
  case $r in ok*) [ $rc = 0 ] && state_dropped vm_teardown_drops_state "$d0" \
                    || fail vm_teardown_drops_state "vbh-vmm exit $rc: $(grep -m1 -E '^error |^vbh-vmm: ' /tmp/vbh/vmm-teardown.out)" ;;
    *) fail vm_teardown_drops_state "SVM still on after the VM's teardown:${r#bad}" ;; esac
else
  fail vm_teardown_drops_state "kvm enable_virt_at_load=0: $(cat /tmp/vbh/kvm.out | tr '\n' ' ') $(svm_state off)"
fi
check_status status_after /sys/kernel/vbh/status

# Cross-CPU invalidation: CPU 1 spins in guest mode; CPU 0 donates a frame CPU 1 has
# just read. The donate must kick CPU 1 (NMI exit, swallowed), after which CPU 1's read
# faults (#GP from the NPF) and is logged; after reclaim CPU 1 reads again.
f=$(kv pfn "$(atk alloc 0)")
dom=$(kv out0 "$(atk @0 hc 0x10 0 0 0 0)")
taskset -c 1 sh -c 'while :; do :; done' & spin=$!
r0=$(atk @1 dmap_read "$f")
sent=$(st 0 kicks_sent) taken=$(st 1 kicks_taken)
d=$(atk @0 hc 0x22 "$f" 1 "$dom" 0)
r1=$(atk @1 dmap_read "$f")
sent2=$(st 0 kicks_sent) taken2=$(st 1 kicks_taken)
c=$(atk @0 hc 0x23 "$f" 1 "$dom" 0)
r2=$(atk @1 dmap_read "$f")
kill $spin
info "frame $f dom $dom: before=$(kv result "$r0") donate=$(kv status "$d") while_donated=$(kv result "$r1") reclaim=$(kv status "$c") after=$(kv result "$r2")"
[ "$(kv result "$r0")" = read ] && [ "$(kv status "$d")" = 0 ] && [ "$(kv result "$r1")" = fault ] \
  && [ "$(kv status "$c")" = 0 ] && [ "$(kv result "$r2")" = read ] \
  && pass donate_blocks_other_cpu "read, donate, fault on CPU 1, reclaim, read" \
  || fail donate_blocks_other_cpu "before=$r0 donate=$d during=$r1 reclaim=$c after=$r2"
if [ "${sent2:-0}" -gt "${sent:-0}" ] && [ "${taken2:-0}" -gt "${taken:-0}" ]; then
  pass nmi_kick "cpu0 kicks_sent $sent -> $sent2, cpu1 kicks_taken $taken -> $taken2"
else
  fail nmi_kick "cpu0 kicks_sent $sent -> $sent2, cpu1 kicks_taken $taken -> $taken2"
fi
info "stats: $(cat /sys/kernel/vbh/stats | tr '\n' '|')"

# 3. A VM and a vCPU are created and held open (one static-key flip: kvmprobe.c) after
# the runs above.
kvmprobe hold > /tmp/vbh/kvmprobe.out 2>&1 &
i=0; while [ $i -lt 50 ] && ! grep -q result= /tmp/vbh/kvmprobe.out; do sleep 0.2; i=$((i + 1)); done
r=$(cat /tmp/vbh/kvmprobe.out)
[ "$(kv result "$r")" = created ] && pass kvm_create_vm "$r" || fail kvm_create_vm "$r"
dmesg_clean kernel_log_clean "$mark"
