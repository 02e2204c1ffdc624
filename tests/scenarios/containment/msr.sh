# shellcheck shell=dash
# Attacks 11 to 14 of docs/containment.md: platform MSRs, reserved-bit writes, INVD,
# a flood of the log and /dev/vbh output redirection.
# Bare: each WRMSR and the INVD run natively on CPU 0 without a fault (QEMU TCG lands
# the MTRR write and accepts-and-drops what it does not implement, as the hardware
# would accept the write). vbh: each write must #GP and be logged as msr_denied with
# its MSR; INVD must exit (run as WBINVD) and be logged.

# NAME MSR VALUE: one row per class the policy refuses (svm/msr_policy.hpp).
MSR_CLASSES="msr_syscfg 0xc0010010 0x40000
msr_tom2 0xc001001d 0x100000000
msr_iorr 0xc0010016 0x18
msr_mtrr 0x20e 0x6
msr_hwcr 0xc0010015 0x1
msr_tseg 0xc0010113 0x0"

# msr_reserved NAME: the MSR and the value with one bit the CPU does not support:
# EFER.TCE and EFER.LMSLE (not in QEMU's EPYC CPUID, MBZ for its VMRUN checks) and a
# reserved VM_CR bit. Printed as "MSR VALUE".
msr_reserved() {
  local old
  case $1 in
    efer_tce) old=$(kv value "$(atk @0 msr_read 0xc0000080)"); echo "0xc0000080 $((${old:-0} | 0x8000))" ;;
    efer_lmsle) old=$(kv value "$(atk @0 msr_read 0xc0000080)"); echo "0xc0000080 $((${old:-0} | 0x2000))" ;;
    vmcr_reserved) old=$(kv value "$(atk @0 msr_read 0xc0010114)"); echo "0xc0010114 $((${old:-0} | 0x100))" ;;
  esac
}
MSR_RESERVED="efer_tce efer_lmsle vmcr_reserved"

# A WRMSR or INVD that reached the CPU: it did not fault.
ran_natively() { case $(res "$1") in landed|not_landed|executed) echo yes ;; *) echo no ;; esac; }

msr_bare() {
  local name msr val r
  DEFENCE="none (no vbh loaded)"
  echo "$MSR_CLASSES" | while read -r name msr val; do
    ATTEMPT="WRMSR $msr := $val"
    r=$(atk @0 msr_write "$msr" "$val")
    prove "$name" "$(ran_natively "$r")" "$(one "$r")"
  done
  for name in $MSR_RESERVED; do
    # shellcheck disable=SC2046 # "MSR VALUE": two words on purpose
    set -- $(msr_reserved "$name")
    ATTEMPT="WRMSR $1 := $2 (unsupported bit)"
    r=$(atk @0 msr_write "$1" "$2")
    prove "$name" "$(ran_natively "$r")" "$(one "$r")"
  done
  ATTEMPT="INVD"
  r=$(atk @0 invd)
  prove invd "$(ran_natively "$r")" "$(one "$r")"
}

# msr_one NAME MSR VALUE: under vbh the write must fault (#GP, trap 13) and the log
# must hold an msr_denied entry for that MSR.
msr_one() {
  local name=$1 msr=$2 val=$3 r b=no ev=no
  log_mark
  r=$(atk @0 msr_write "$msr" "$val")
  [ "$(res "$r")" = fault ] && [ "$(kv trap "$r")" = 13 ] && b=yes
  logged msr_denied > /dev/null
  case " $LOG_SEEN " in *" msr_denied@$(printf '0x%x' "$msr") "*) ev=yes ;; esac
  judge "$name" "$name" $b "$(one "$r")" $ev
}

# use_out_frame must have run: the log flood and the redirect need the output frame.
msr_vbh() {
  local name msr val r b ev
  DEFENCE="WRMSR refused: #GP, logged"
  echo "$MSR_CLASSES" > /tmp/vbh/msr.classes
  while read -r name msr val; do
    ATTEMPT="WRMSR $msr := $val"; msr_one "$name" "$msr" "$val"
  done < /tmp/vbh/msr.classes
  DEFENCE="checked against CPUID: #GP, never in the VMCB"
  for name in $MSR_RESERVED; do
    # shellcheck disable=SC2046 # "MSR VALUE": two words on purpose
    set -- $(msr_reserved "$name")
    ATTEMPT="WRMSR $1 := $2 (unsupported bit)"; msr_one "$name" "$1" "$2"
  done
  ATTEMPT="INVD" DEFENCE="intercepted, run as WBINVD, logged"
  log_mark
  r=$(atk @0 invd)
  b=no ev=no; [ "$(res "$r")" = executed ] && [ "$(kv exits "$r")" = 1 ] && b=yes
  # Evidence: the invd exit counter moved by one around the instruction (QEMU 7.2
  # reports INVD as a WBINVD exit, which vbh runs but cannot log as INVD).
  [ $b = yes ] && ev=yes
  judge invd invd $b "$(one "$r")" $ev
  log_flood_vbh
  out_redirect_vbh
}

# The flood: 300 refused writes (one log entry each) push the first msr_denied entry
# out of the 256-entry ring; the control is that the ring lost it (defence off: what
# a reader of the ring alone sees). The per-kind first entries must still hold it.
log_flood_vbh() {
  local s0 seq0 n0 r ring lost s1 b=no ev=no
  ATTEMPT="flood: 300 refused WRMSRs" DEFENCE="first entries per kind, kept apart from the ring"
  s0=$(atk log_summary 6)
  seq0=$(kv first0_seq "$s0") n0=$(kv count "$s0")
  if [ -z "$seq0" ]; then record log_flood unproven "no msr_denied before the flood: $(one "$s0")"; return; fi
  r=$(atk @0 msr_flood 300 0xc0010010 0x40000)
  ring=$(atk log "$seq0")
  lost=$(kv lost "$ring")
  [ "${lost:-0}" -gt 0 ] && [ "$(kv faults "$r")" = 300 ] && ok=yes || ok=no
  prove log_flood_ring $ok "ring read from seq $seq0: lost=$lost first=$(echo "$ring" | sed -n 's/^log seq=\([0-9]*\).*/\1/p' | head -n1) after $(one "$r")"
  s1=$(atk log_summary 6)
  [ "$(kv first0_seq "$s1")" = "$seq0" ] && [ "$(kv first0_addr "$s1")" = "$(kv first0_addr "$s0")" ] && b=yes
  [ "$(kv count "$s1")" -ge $((n0 + 300)) ] 2>/dev/null && ev=yes
  judge log_flood log_flood_ring $b "first msr_denied seq $seq0 before, $(kv first0_seq "$s1") after; count $n0 -> $(kv count "$s1")" $ev
  info "log summary after the flood: $(one "$s1")"
  metric logtotal.msr_denied "$(kv count "$s1")" events
  info "log-first seq=$(kv first0_seq "$s1") kind=msr_denied addr=$(kv first0_addr "$s1") info=$(kv first0_info "$s1")"
}

# /dev/vbh: root has the hypervisor write exit counters (STATS_READ) into a frame of
# its choice. Control: into the loader's output frame the write lands (its hash
# moves). Attack: into the control frame C: VBH_E_DENIED and C unchanged.
out_redirect_vbh() {
  local h0 h1 c r b=no ev=no
  ATTEMPT="/dev/vbh STATS_READ into host frame C" DEFENCE="output only into the loader's frame"
  if [ -z "$OUT_PFN" ]; then record out_redirect unproven "no 'output frame pfn' line in dmesg"; return; fi
  atk fill "$OUT_PFN" 1 0x77 > /dev/null
  h0=$(kv hash "$(atk hash "$OUT_PFN" 1)")
  c=$(vbhctl hypercall 0x40 0 "$OUT_PFN" 2>&1)
  h1=$(kv hash "$(atk hash "$OUT_PFN" 1)")
  [ "$(kv status "$c")" = ok ] && [ "$h0" != "$h1" ] && ok=yes || ok=no
  prove out_redirect $ok "into the output frame $OUT_PFN: $(one "$c"), hash $h0 -> $h1"
  atk fill "$C" 1 0x55 > /dev/null
  h0=$(kv hash "$(atk hash "$C" 1)")
  r=$(vbhctl hypercall 0x40 0 "$C" 2>&1)
  h1=$(kv hash "$(atk hash "$C" 1)")
  # vbhctl prints "status=NAME (N)"
  [ "$h0" = "$h1" ] && [ -n "$(kv status "$r")" ] && [ "$(kv status "$r")" != ok ] && b=yes
  [ "$(kv status "$r")" = denied ] && ev=status
  judge out_redirect out_redirect $b "$(one "$r"), C hash $h0 -> $h1" $ev
}
