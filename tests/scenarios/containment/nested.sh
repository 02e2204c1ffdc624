# shellcheck shell=dash
# Nested SVM (issue 12 point 6; docs/containment.md "Nested SVM"): a hostile host runs
# VMRUN on VMCB12s vbh must refuse or contain (vbh_attack "nest CASE ARG PFN", cases
# in tests/guest-modules/attack/nested.c). Bare: each harness on frames nobody
# defends (C, S before it is donated). vbh: against the hypervisor frame H, the
# secret S, a page of vbh's table pool TBL and the local APIC page (MMIO); a refusal
# must be logged as vmrun_refused naming the expected check of VBH_VMCB12_ERRORS.

# Check numbers: the order of VBH_VMCB12_ERRORS (vbh/svm/include/vbh/svm/nested.hpp).
nest_check_no() {
  case $1 in
    vmrun_intercept) echo 1 ;; asid_zero) echo 2 ;; event_type) echo 6 ;;
    event_reserved) echo 7 ;; event_vector) echo 8 ;; sev) echo 24 ;;
    nested_paging) echo 26 ;; avic) echo 27 ;; virt_ext) echo 30 ;;
    icpt_intr) echo 31 ;; icpt_nmi) echo 32 ;; icpt_shutdown) echo 33 ;;
    icpt_vmload) echo 34 ;; icpt_vmsave) echo 35 ;; icpt_stgi) echo 36 ;;
    icpt_clgi) echo 37 ;; icpt_skinit) echo 38 ;; icpt_invlpga) echo 39 ;;
    map_not_host) echo 40 ;; *) echo none ;;
  esac
}
# nest_changes REPLY: "NAME:result" for each change line of a nest_all reply.
nest_changes() {
  echo "$1" | sed -n 's/^change \([^ ]*\) .*result=\([a-z]*\).*/\1:\2/p' | tr '\n' ' ' | sed 's/ $//'
}

# nest_log KIND: "addr rip info" (decimal) of each KIND entry since log_mark, one a line.
nest_log() {
  local out n=100 seq=$LOG_SEQ
  while [ "$n" -ge 100 ]; do
    out=$(atk log "$seq")
    n=$(kv count "$out"); n=${n:-0}
    echo "$out" | sed -n "s/^log .*kind=$1 addr=\(0x[0-9a-f]*\) rip=\(0x[0-9a-f]*\) info=\(0x[0-9a-f]*\).*/\1 \2 \3/p" |
      while read -r a p i; do echo "$((a)) $((p)) $((i))"; done
    seq=$(kv next "$out"); seq=${seq:-0}
  done
}
# nest_refusals: the check numbers of the vmrun_refused entries since log_mark.
nest_refusals() { nest_log vmrun_refused | while read -r a p i; do echo "$i"; done; }

nest_bare() {
  local line row arg cs r ok
  DEFENCE="none (no vbh loaded)"
  ATTEMPT="L2 reads a frame, nested paging off"
  r=$(atk @0 nest 0 0 "$C")
  [ "$(res "$r")" = ran ] && [ "$(kv word "$r")" = "$(kv expect "$r")" ] && ok=yes || ok=no
  prove nest_base $ok "$(one "$r")"
  ATTEMPT="L2 reads a frame via host-built NPT"
  r=$(atk @0 nest 0 1 "$C")
  [ "$(res "$r")" = ran ] && [ "$(kv word "$r")" = "$(kv expect "$r")" ] && ok=yes || ok=no
  prove nest_npt $ok "$(one "$r")"
  ATTEMPT="NPT root on a chosen frame"
  r=$(atk @0 nest 0 2 "$C")
  [ "$(res "$r")" = ran ] && [ "$(kv root_copied "$r")" = yes ] && ok=yes || ok=no
  prove nest_npt_root $ok "$(one "$r")"
  ATTEMPT="VMCB12 on a chosen frame"
  r=$(atk @0 nest 1 0 "$C"); [ "$(res "$r")" = ran ] && ok=yes || ok=no
  prove nest_vmcb $ok "$(one "$r")"
  ATTEMPT="MSRPM / IOPM on a chosen frame"
  r="$(atk @0 nest 2 0 "$S") / $(atk @0 nest 3 0 "$S")"
  case $r in *"result=ran"*"result=ran"*) ok=yes ;; *) ok=no ;; esac
  prove nest_maps $ok "$(one "$r")"
  ATTEMPT="VM_HSAVE_PA on a chosen frame, VMRUN"
  r=$(atk @0 nest 4 0 "$C")
  [ "$(res "$r")" = ran ] && [ "$(kv hsave_changed "$r")" = yes ] && ok=yes || ok=no
  prove nest_hsave $ok "$(one "$r")"
  ATTEMPT="L2 executes VMRUN, intercepted"
  r=$(atk @0 nest 11 1 "$C")
  [ "$(res "$r")" = exited ] && [ "$(kv exit "$r")" = 0x80 ] && ok=yes || ok=no
  prove nest_l2_vmrun $ok "$(one "$r")"
  ATTEMPT="VMCB12 flipped from CPU 1 during VMRUNs"
  r=$(atk @0 nest_race 300 "$C")
  # the flips reach the CPU's VMRUN: some VMRUNs ran the L2 to its read, others were
  # refused or exited on a flipped value (an NPF on the flipped nested paging)
  [ "$(kv ran "$r")" -gt 0 ] 2>/dev/null &&
    [ $(($(kv refused "$r") + $(kv exited "$r"))) -gt 0 ] 2>/dev/null && ok=yes || ok=no
  prove nest_race $ok "$(one "$r")"
  # The one-field changes (nest_all): what the CPU itself does with each, for the
  # record; their control under vbh is nest_base, the same VMCB12 unchanged.
  r=$(atk @0 nest_all "$C")
  info "bare CPU on the one-field changes: $(nest_changes "$r")"
}

# nest_family ROW CTL CASE1 [CASE2...]: several "nest" commands (each "CASE ARG PFN
# CHECK", commas for spaces) judged as one row: every VMRUN ended VMEXIT_INVALID and
# the vmrun_refused entries since the mark name exactly the CHECKs, in order.
# Control: CTL, the bare run of the VMCB12 the cases change one field of.
nest_family() {
  local row=$1 ctl=$2 c r b=yes want='' got obs='' ev; shift 2
  log_mark
  for c in "$@"; do
    # shellcheck disable=SC2046 # "CASE,ARG,PFN,CHECK": four words on purpose
    set -- $(echo "$c" | tr ',' ' ')
    r=$(atk @0 nest "$1" "$2" "$3")
    [ "$(res "$r")" = invalid ] || b=no
    want="$want $(nest_check_no "$4")"
    obs="$obs $4:$(res "$r")"
  done
  got=$(nest_refusals | tr '\n' ' ' | sed 's/ $//')
  if [ " $got" = "$want" ]; then ev=yes; else ev="no: vmrun_refused checks $got, want$want"; fi
  judge "nest_$row" "$ctl" $b "${obs# } (checks$want)" "$ev"
}

# nest_reads ROW CTL ARG:PFN...: the L2 reads each PFN (ARG 0: through its own tables,
# npt=0; 1: through the host's identity NPT; 2: NPT root on PFN). Blocked when no read
# returned a word. Evidence for each PFN: a vmrun_refused entry (NP_ENABLE refused), an
# NPF exit (0x400) the host received (a shadow NPT's answer), or an npf entry in the
# frame with a RIP in the L2's stub (the L2's access, not the host's read of the
# expected word).
nest_reads() {
  local row=$1 ctl=$2 it pfn r b=yes ev=yes obs='' npf refused stub='' x400=''; shift 2
  log_mark
  for it in "$@"; do
    pfn=${it#*:}
    r=$(atk @0 nest 0 "${it%%:*}" "$pfn")
    [ "$(res "$r")" = ran ] && b=no
    stub=$(kv l2_rip "$r")
    [ "$(kv exit "$r")" = 0x400 ] && x400="$x400 $((pfn))"
    obs="$obs ${it%%:*}@$(hpfn "$pfn"):$(res "$r")$(kv exit "$r" | sed 's/^/:/')"
  done
  npf=$(nest_log npf)
  refused=$(nest_refusals | tr '\n' ' ')
  for it in "$@"; do
    pfn=${it#*:}
    case " $x400 " in *" $((pfn)) "*) continue ;; esac
    [ -n "$refused" ] && continue
    echo "$npf" | while read -r a p i; do
      [ -n "$a" ] && [ $((a >> 12)) = $((pfn)) ] && [ $((p - stub)) -ge 0 ] && [ $((p - stub)) -lt 16 ] && echo hit
    done | grep -q hit || ev="no: no npf of the L2 in frame $(hpfn "$pfn"), no refusal"
  done
  judge "nest_$row" "$ctl" $b "${obs# }${refused:+ refused=$refused}" "$ev"
}

# nest_insns ROW CTL "CASE PFN"...: the host's VMRUN/VMLOAD/VMSAVE on frames that are
# not host RAM: each faults (#GP) and each left a virt_insn entry.
nest_insns() {
  local row=$1 ctl=$2 c r b=yes n=0 obs='' got; shift 2
  log_mark
  for c in "$@"; do
    # shellcheck disable=SC2086 # "CASE PFN": two words on purpose
    set -- $c
    r=$(atk @0 nest "$1" 0 "$2")
    [ "$(res "$r")" = fault ] || b=no
    n=$((n + 1)); obs="$obs $1@$(hpfn "$2"):$(res "$r")$(kv trap "$r" | sed 's/^/:/')"
  done
  got=$(nest_log virt_insn | wc -l)
  if [ "$got" -ge "$n" ]; then ev=yes; else ev="no: $got virt_insn entries for $n attempts"; fi
  judge "nest_$row" "$ctl" $b "${obs# }" "$ev"
}

nest_vbh() {
  local tbl M=0xfee00 line r b ev obs='' want got bad
  # vbh's own nested page table root (hyp_layout, docs/loader.md); without the layout
  # file, the last page of the last hypervisor range (the table pool)
  tbl=$(sed -n 's/^npt_root \(0x[0-9a-f]*\) .*/\1/p' /sys/kernel/vbh/hyp_layout 2>/dev/null)
  if [ -z "$tbl" ]; then
    tbl=$(tail -n1 /sys/kernel/vbh/hyp_ranges); tbl=$(printf '0x%x' $((0x${tbl##*-} >> 12)))
  fi
  info "nested attacks: hyp frame $H, vbh NPT frame $tbl, secret $S, MMIO $M"
  r=$(atk @0 nest 0 0 "$C")
  if [ "$(res "$r")" = ran ] && [ "$(kv word "$r")" = "$(kv expect "$r")" ] &&
     [ "$(kv l2_entries "$r")" = 1 ]; then pass nested_base_vbh "vbh runs the sane VMCB12: $(one "$r")"
  else fail nested_base_vbh "the sane VMCB12 did not run under vbh: $(one "$r")"; fi

  DEFENCE="host NPT under the L2 (npt=0): npf, #GP into the L2"
  ATTEMPT="L2 reads hyp frame, secret; own tables"
  nest_reads l2_read nest_base "0:$H" "0:$S"
  DEFENCE="NP_ENABLE refused (nested_paging) or shadow NPT without them"
  ATTEMPT="host NPT maps hyp, secret, vbh tables; root on hyp, secret"
  nest_reads npt nest_npt "1:$H" "1:$S" "1:$tbl" "2:$H" "2:$S"
  DEFENCE="VMCB12, VMLOAD/VMSAVE area: host RAM only, #GP"
  ATTEMPT="VMCB12, VMLOAD, VMSAVE on hyp frame, secret, MMIO"
  nest_insns host_pa nest_vmcb "1 $H" "1 $S" "1 $M" "12 $H" "12 $M" "13 $H" "13 $M"
  DEFENCE="maps must be host RAM: refused (map_not_host)"
  ATTEMPT="MSRPM, IOPM on hyp frame, secret, MMIO"
  nest_family maps nest_maps "2,0,$H,map_not_host" "2,0,$S,map_not_host" "2,0,$M,map_not_host" \
    "3,0,$H,map_not_host" "3,0,$S,map_not_host" "3,0,$M,map_not_host"
  DEFENCE="VM_HSAVE_PA is a shadow: vbh never writes it"
  ATTEMPT="VM_HSAVE_PA on secret, hyp frame; VMRUN"
  b=yes ev=yes obs=
  for line in "$S" "$H"; do
    r=$(atk @0 nest 4 0 "$line")
    [ "$(res "$r")" = ran ] || b=no
    [ "$(kv l2_entries "$r")" = 1 ] || ev="no: l2_entries did not move by 1"
    obs="$obs $(hpfn "$line"):$(res "$r"):l2_entries=$(kv l2_entries "$r")"
  done
  judge nest_hsave nest_hsave $b "${obs# }" "$ev"

  DEFENCE="VMCB12 checked: refused, check logged"
  ATTEMPT="19 one-field changes: intercepts, ASID 0, EVENTINJ, SEV/AVIC/LBR, L2 VMRUN"
  log_mark
  r=$(atk @0 nest_all "$C")
  want=$(echo "$r" | sed -n 's/^change [^ ]* check=\([a-z_]*\) .*/\1/p' | while read -r c; do nest_check_no "$c"; done | tr '\n' ' ')
  got=$(nest_refusals | tr '\n' ' ')
  bad=$(echo "$r" | grep '^change ' | grep -v 'result=invalid' | sed 's/^change \([^ ]*\) .*result=\([a-z]*\).*/\1:\2/' | tr '\n' ' ')
  [ -z "$bad" ] && [ -n "$want" ] && b=yes || b=no
  [ "$got" = "$want" ] && ev=yes || ev="no: vmrun_refused checks $got, want $want"
  judge nest_vmcb12_checks nest_base $b "${bad:+not refused: $bad; }$(nest_changes "$r") (checks $want)" "$ev"

  DEFENCE="L2 VMRUN always intercepted, reflected to the host"
  ATTEMPT="L2 executes VMRUN of the secret frame"
  r=$(atk @0 nest 11 1 "$S")
  # blocked: vbh entered one L2 only (the host's), never the L2's VMCB; evidence: the
  # host received the VMRUN exit (0x80), as from the CPU on a bare kernel
  [ "$(kv l2_entries "$r")" = 1 ] && b=yes || b=no
  [ "$(kv exit "$r")" = 0x80 ] && ev=yes || ev="no: the host did not get exit 0x80"
  judge nest_l2_vmrun nest_l2_vmrun $b "$(one "$r")" "$ev"
  DEFENCE="VMCB12 checked and built from one copy"
  ATTEMPT="VMCB12 flipped from CPU 1 during VMRUNs"
  # evidence: vbh's l2_entries counter (consistent=yes) and refusals seen; the log is not
  # read: every L2 read of H adds an npf entry, hundreds of them
  r=$(atk @0 nest_race 500 "$H")
  [ "$(kv ran "$r")" = 0 ] && [ "$(kv consistent "$r")" = yes ] && b=yes || b=no
  [ "$(kv refused "$r")" -gt 0 ] 2>/dev/null && ev=yes || ev="no: no VMRUN refused"
  judge nest_race nest_race $b "$(one "$r")" "$ev"
}
