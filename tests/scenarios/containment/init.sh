# shellcheck shell=dash
# INIT/SIPI to another CPU (docs/containment.md, "INIT and SIPI"; docs/threats.md #12).
# The host sends INIT, INIT de-assert, SIPI, SIPI to CPU 1 through its local APIC's ICR
# (attack/sipi.c) with the vector of a page holding its own real-mode payload
# (attack/sipi_stub.S), which enters protected mode without paging and reads 8 bytes of
# each target frame. Bare: the payload reads the control frame C (the same word the
# direct map shows). Under vbh the CPU must start in guest mode under the host NPT: the
# payload still reads C (the in-shot control: it ran, on that CPU), and the secret S
# and the hypervisor frame H fault (#GP, vector 13, the NPF reflected), the bytes are not
# copied, and the log has an npf in each frame.
#   sipi_offline  CPU 1 offlined through sysfs first, onlined after (Linux's own INIT/SIPI
#                 must bring it back, under vbh still in guest mode)
#   sipi_running  CPU 1 online: Linux loses it (it stays halted in the payload), so this
#                 runs last in a boot, with the shell pinned to CPU 0, and CPU_LOST=1 keeps
#                 lib.sh's alive() from asking it (work_on_cpu would wait forever)
# Needs containment-lib.sh (atk, prove, judge, logged) and the globals C, S, H.

SIPI_CPU=1
SIPI_SYS=/sys/devices/system/cpu/cpu$SIPI_CPU/online

sipi_tgt() { echo "$SIPI_R" | grep "^target=$1 "; } # sipi_tgt I: target I's reply line
sipi_end() { res "$(echo "$SIPI_R" | tail -n1)"; }  # the payload's end: done/no_start/stuck
sipi_ctl_word() { # C filled with a fresh pattern; prints its first word
  atk @0 fill "$C" 1 0x5197 > /dev/null
  kv word0 "$(atk @0 dmap_read "$C")"
}

# sipi_offline_shot PFN_A PFN_B PFN_C: CPU 1 offline, the attack, CPU 1 online again.
# Sets SIPI_R (the reply) and SIPI_BACK (yes when CPU 1 is online and runs a command).
sipi_offline_shot() {
  SIPI_BACK=no
  if ! echo 0 > $SIPI_SYS || [ "$(cat $SIPI_SYS)" != 0 ]; then
    SIPI_R="result=error reason=offline_failed"; return
  fi
  SIPI_R=$(atk @0 sipi_offline $SIPI_CPU "$@")
  echo 1 > $SIPI_SYS && [ "$(cat $SIPI_SYS)" = 1 ] &&
    [ "$(res "$(atk @$SIPI_CPU dmap_read "$C")")" = read ] && SIPI_BACK=yes
}

# sipi_read_c WANT: the payload ran and read C's word (target 0).
sipi_read_c() {
  local t
  t=$(sipi_tgt 0)
  [ "$(sipi_end)" = "done" ] && [ "$(res "$t")" = read ] && [ "$(kv word "$t")" = "$1" ]
}

init_bare() {
  local want ok=no
  ATTEMPT="INIT/SIPI offline CPU 1, payload reads a frame" DEFENCE="none (no vbh loaded)"
  if [ ! -w $SIPI_SYS ]; then record sipi_offline n/a "no $SIPI_SYS"; return; fi
  want=$(sipi_ctl_word)
  sipi_offline_shot "$C" 0 0
  sipi_read_c "$want" && [ $SIPI_BACK = yes ] && ok=yes
  prove sipi_offline $ok "$(one "$SIPI_R") want word=$want; cpu$SIPI_CPU back online: $SIPI_BACK"
}

# sipi_judge NAME CONTROL: rows NAME (target 1, the secret S) and hyp_NAME (target 2,
# H) of the shot in SIPI_R, log marked before it. Contained: the payload read C (so it
# ran on that CPU), the target faulted with vector 13, its slot kept the poison, and the
# log has an npf in that frame.
sipi_judge() {
  local name=$1 ctl=$2 i t pfn row blocked ev seq=$LOG_SEQ why
  for i in 1 2; do
    t=$(sipi_tgt $i)
    pfn=$S row=$name; [ $i = 2 ] && pfn=$H row=hyp_$name
    if ! sipi_read_c "$SIPI_WANT"; then
      why="the payload did not read C (want word=$SIPI_WANT) in the same shot: no proof it ran"
      [ "$(sipi_end)" = "done" ] || why="payload $(sipi_end): $why"
      record "$row" unproven "$(one "$SIPI_R") ($why)"
      continue
    fi
    blocked=no
    [ "$(res "$t")" = fault ] && [ "$(kv vector "$t")" = 13 ] && [ "$(kv copied "$t")" = no ] && blocked=yes
    LOG_SEQ=$seq ev=$(logged npf "$pfn")
    judge "$row" "$ctl" $blocked "$(one "$t"), C read; $SIPI_NOTE" "$ev"
  done
}

init_vbh() {
  ATTEMPT="INIT/SIPI offline CPU 1, payload reads C, S, H"
  DEFENCE="INIT/SIPI emulated: CPU starts in guest mode"
  if [ ! -w $SIPI_SYS ]; then record sipi_offline n/a "no $SIPI_SYS"; return; fi
  SIPI_WANT=$(sipi_ctl_word)
  local m
  m=$(dmesg_mark)
  log_mark
  sipi_offline_shot "$C" "$S" "$H"
  SIPI_NOTE="cpu$SIPI_CPU back: $SIPI_BACK, $(dmesg_since "$m" | grep -o "vbh: CPU $SIPI_CPU online.*" | tail -n1)"
  sipi_judge sipi_offline sipi_offline
  [ $SIPI_BACK = yes ] || fail sipi_offline_back "CPU $SIPI_CPU not usable after the attack: $(one "$SIPI_R")"
}

# sipi_running_shot PFN_A PFN_B PFN_C: CPU 1 stays lost to Linux after this. Whatever
# is on its run queue then never runs again, and a wakeup may still pick it (it looks
# idle): the first boot lost the RCU grace-period kthread that way and hung in fork.
# So first every task that may move (all but per-CPU kthreads) and the unbound
# workqueues go to CPU 0, and CPU 1 gets a moment to go idle: an idle CPU is in RCU's
# extended quiescent state, so grace periods do not wait for it afterwards.
sipi_running_shot() {
  local p
  for p in /proc/[0-9]*; do taskset -p 1 "${p#/proc/}" > /dev/null 2>&1; done
  echo 1 > /sys/devices/virtual/workqueue/cpumask 2>/dev/null
  sleep 1
  SIPI_R=$(atk @0 sipi_running $SIPI_CPU "$@")
  CPU_LOST=$SIPI_CPU
}

# Bare-only boots (vbh.containment=bare), last: the proof that INIT/SIPI takes a CPU
# that Linux is running and makes it read C.
init_running_bare() {
  local want ok=no
  ATTEMPT="INIT/SIPI running CPU 1, payload reads a frame" DEFENCE="none (no vbh loaded)"
  [ "$(cat $SIPI_SYS 2>/dev/null)" = 1 ] || { record sipi_running n/a "CPU $SIPI_CPU not online"; return; }
  want=$(sipi_ctl_word)
  sipi_running_shot "$C" 0 0
  sipi_read_c "$want" && ok=yes
  prove sipi_running $ok "$(one "$SIPI_R") want word=$want; cpu$SIPI_CPU now lost to Linux"
}

# vbh boots, last (after hypervisor_alive): the same shot against C, S, H. The bare
# proof cannot run in this boot (it would take CPU 1 before vbh loads, and vbh's launch
# needs every online CPU): the control is the same shot's read of C, under vbh.
init_running_vbh() {
  ATTEMPT="INIT/SIPI running CPU 1, payload reads C, S, H"
  DEFENCE="INIT/SIPI emulated: CPU starts in guest mode"
  [ "$(cat $SIPI_SYS 2>/dev/null)" = 1 ] || { record sipi_running n/a "CPU $SIPI_CPU not online"; return; }
  SIPI_WANT=$(sipi_ctl_word)
  log_mark
  sipi_running_shot "$C" "$S" "$H"
  if sipi_read_c "$SIPI_WANT"; then
    prove sipi_running yes "same shot under vbh: the payload read C (word=$SIPI_WANT) on CPU $SIPI_CPU"
  fi
  SIPI_NOTE="cpu$SIPI_CPU lost to Linux (halted in the payload)"
  sipi_judge sipi_running sipi_running
}
