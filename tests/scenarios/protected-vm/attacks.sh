# shellcheck shell=dash
# protected-vm scenario: the attacks on a protected guest's private memory (issue 13
# point 5; docs/containment.md "Protected VMs"). Each has its control: the same attack,
# same code, succeeds against the guest's frames when nobody defends them (the bare
# kernel's software-protected VM, or an ordinary VM: --unprotected). Globals from
# vm.sh: VM_SEED VM_PID VM_HVA VM_PFNS; from containment-lib.sh: atk, kv, record,
# prove, proven, alive, log_mark, logged; from containment-dma.sh: dma_fault.

PEEK=/lib/vbh/bin/vbh_secret_peek

# pjudge NAME CONTROL BLOCKED OBSERVED EVIDENCE: contained = the control was proven +
# the attack failed + vbh answers on every CPU + evidence (yes: vbh logged or counted
# it, status: the exact refusal, kvm: KVM never put the private pages where the attack
# looks). The guest's own check of its secret comes after all of them (pvm_secret).
pjudge() {
  local why=
  if [ "$3" != yes ]; then record "$1" LEAKED "$4"; return; fi
  proven "$2" || why="no control: harness $2 never succeeded with the defence off"
  alive || why="$why; hypervisor not answering VBH_HC_VERSION on$ALIVE_WHY"
  case $5 in yes|status|kvm) ;; *) why="$why; no evidence (${5#no: })" ;; esac
  if [ -z "$why" ]; then record "$1" contained "$4"; else record "$1" unproven "$4 (${why#; })"; fi
}

# scan_pfns LIST: scan_secret over each frame of LIST; sets HITS, FAULTS, ZERO.
scan_pfns() {
  local p r
  HITS=0 FAULTS=0 ZERO=0
  for p in $1; do
    r=$(atk scan_secret "$VM_SEED" "$p" $((p + 1)))
    HITS=$((HITS + $(kv hits "$r"))) FAULTS=$((FAULTS + $(kv faults "$r")))
    ZERO=$((ZERO + $(kv zero "$r")))
  done
}
# scan_ram: scan_secret over every "System RAM" range of /proc/iomem but the
# hypervisor's own ranges (/sys/kernel/vbh/hyp_ranges, which hold none of the guest's
# memory and which containment's kinds rows attack; under vbh every read of them is an
# NPF exit, thousands of them under TCG); sets HITS, FAULTS, FRAMES.
scan_ram() {
  local a b r s e cur hyp
  HITS=0 FAULTS=0 FRAMES=0
  hyp=$(sed -n 's/^\([0-9a-f]*\)-\([0-9a-f]*\)$/\1 \2/p' /sys/kernel/vbh/hyp_ranges 2>/dev/null |
    while read -r s e; do echo "$((0x$s >> 12)) $(((0x$e + 1) >> 12))"; done | sort -n)
  for a in $(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM$/\1-\2/p' /proc/iomem); do
    b=$(((0x${a#*-} + 1) >> 12)) cur=$((0x${a%-*} >> 12))
    for r in $(echo "$hyp" | tr ' ' ':') "$b:$b"; do
      s=${r%:*} e=${r#*:}
      [ "$e" -le "$cur" ] && continue
      [ "$s" -gt "$b" ] && s=$b
      [ "$s" -gt "$cur" ] && scan_range "$cur" "$s"
      cur=$e
      [ "$cur" -ge "$b" ] && break
    done
  done
}
scan_range() { # scan_range FIRST END: one scan_secret, added to HITS FAULTS FRAMES
  local r
  r=$(atk scan_secret "$VM_SEED" "$1" "$2")
  HITS=$((HITS + $(kv hits "$r"))) FAULTS=$((FAULTS + $(kv faults "$r")))
  FRAMES=$((FRAMES + $(kv frames "$r")))
}
# nest_read PFN: a second VMCB12 (attack/nested.c, case 0 arg 1) whose KVM-style nested
# tables (identity, 1 GiB leaves) map PFN; its L2 reads the frame. Sets NEST_R.
nest_read() { NEST_R=$(one "$(atk @0 nest 0 1 "$1")"); }
proc_mem() { "$PEEK" "$VM_SEED" "/proc/$VM_PID/mem" "$VM_HVA"; }
# nest_vm_read: a second VMCB12 on the held VM's own nested-paging root and CR3
# (attack/protected_nest.c); its L2 code, written into the boot parameters' page
# (0x2000, shared RAM the guest has read, so KVM's table maps it) at 0x2800, reads the
# first qword of the secret (0x400000). Sets NEST_R.
nest_vm_read() { NEST_R=$(one "$(atk @0 nest_vm "$VM_PID" 0x2800 0x400000)"); }
secret_word0() { "$PEEK" "$VM_SEED" word 0; }
# redirect_qwords: what vbh-vmm --redirect's code copied to shared RAM (its last info line)
redirect_qwords() { kv redirect_exfil_qwords "$(vm_line 'info redirect_exfil_qwords=')"; }

# rewrite_qwords: what vbh-vmm --rewrite-code's code copied to shared RAM (info line)
rewrite_qwords() { kv rewrite_exfil_qwords "$(vm_line 'info rewrite_exfil_qwords=')"; }

# --- controls: the guest's frames with no defence -----------------------------------
# attacks_bare: a software-protected VM on the bare kernel (kvm.ko's hooks find no vbh:
# upstream's VM, its guest_memfd frames plain host memory), held at its sync point.
attacks_bare() {
  local p0 r w
  p0=$(first_word "$VM_PFNS")
  DEFENCE="none (no vbh loaded)"
  ATTEMPT="direct-map read of the 16 private frames"
  scan_pfns "$VM_PFNS"
  [ "$HITS" = 16 ] && r=yes || r=no
  prove pvm_dmap "$r" "hits=$HITS of 16 frames faults=$FAULTS"
  ATTEMPT="scan of all RAM for the secret"
  scan_ram
  [ "$HITS" -ge 16 ] && r=yes || r=no
  prove pvm_ram_scan "$r" "frames=$FRAMES hits=$HITS faults=$FAULTS"
  ATTEMPT="edu DMA read of private frame 0"
  r=$(atk dma_read "$p0")
  w=$(kv hash "$(atk hash "$p0" 1)")
  if [ "$(res "$r")" = unsupported ]; then record pvm_dma n/a "no edu device"
  else [ "$(kv hash "$r")" = "$w" ] && [ "$(kv data_words "$r")" -gt 0 ] && p=yes || p=no
    prove pvm_dma "$p" "$(one "$r") want hash=$w"; fi
  ATTEMPT="second VMCB12, its nested tables map private frame 0"
  nest_read "$p0"
  w=$("$PEEK" "$VM_SEED" word 0)
  [ "$(kv result "$NEST_R")" = ran ] && [ "$(kv word "$NEST_R")" = "$w" ] && r=yes || r=no
  prove pvm_nest_npt "$r" "$NEST_R want word=$w"
  ATTEMPT="second VMCB12 on the VM's own NPT root and CR3, host code"
  nest_vm_read
  [ "$(kv result "$NEST_R")" = ran ] && [ "$(kv word "$NEST_R")" = "$w" ] && r=yes || r=no
  prove pvm_root_reuse "$r" "$NEST_R want word=$w"
}
# attacks_bare_released: the held VM ran with --redirect: vCPU 0 pointed at the VMM's
# code in shared RAM after the hold.
attacks_bare_released() {
  local n
  ATTEMPT="redirect vCPU 0 (KVM_SET_REGS RIP) to host code in shared RAM"
  n=$(redirect_qwords)
  [ "$n" = 8192 ] && r=yes || r=no
  prove pvm_redirect "$r" "exfil_qwords=${n:-none} of 8192; $(vm_line 'info protected_redirect returned')"
}
# code_rewrite_bare: a --protected --shared-code VM (the old layout: its secret stage
# runs from memslot 0) ran with --rewrite-code: after the hold the VMM wrote, through
# its mapping of memslot 0, code that copies the secret to shared RAM over the
# instruction the guest goes on with.
code_rewrite_bare() {
  local n
  DEFENCE="none (code in shared memslot 0)"
  ATTEMPT="rewrite the guest's shared code after the hold (VMM's mapping)"
  n=$(rewrite_qwords)
  [ "$n" = 8192 ] && r=yes || r=no
  prove pvm_code_rewrite "$r" "exfil_qwords=${n:-none} of 8192; $(vm_line 'info protected_rewrite returned')"
}
# attacks_unprotected_held / _released: an ordinary VM (--unprotected), whose slot is
# the VMM's own mapping: the user-space views of the secret.
attacks_unprotected_held() {
  local r
  DEFENCE="none (ordinary VM)"
  ATTEMPT="read /proc/<vmm>/mem at the memslot"
  r=$(proc_mem)
  [ "$(kv secret_qwords "$r")" = 8192 ] && p=yes || p=no
  prove pvm_proc_mem "$p" "$r"
}
attacks_unprotected_released() {
  local n
  ATTEMPT="the VMM reads its own mapping of the memslot"
  n=$(kv own_mapping_secret_qwords "$(vm_line 'info protected_resume')")
  [ "$n" = 8192 ] && p=yes || p=no
  prove pvm_vmm_mapping "$p" "own_mapping_secret_qwords=$n of 8192"
}

# --- under vbh: the protected VM holds its secret -------------------------------------
attacks_vbh() {
  local p0 r ev st g d2
  p0=$(first_word "$VM_PFNS")
  DEFENCE="vbh: private frames out of the host NPT"
  ATTEMPT="direct-map read of the 16 private frames"
  log_mark
  scan_pfns "$VM_PFNS"
  [ "$HITS" = 0 ] && r=yes || r=no
  ev=$(logged npf "$p0")
  pjudge pvm_dmap pvm_dmap "$r" "hits=$HITS of 16 frames faults=$FAULTS npf_logged=${ev%%:*}" "$ev"
  ATTEMPT="scan of all RAM for the secret"
  log_mark
  scan_ram
  [ "$HITS" = 0 ] && r=yes || r=no
  ev=$(logged npf "$p0")
  pjudge pvm_ram_scan pvm_ram_scan "$r" "frames=$FRAMES hits=$HITS faults=$FAULTS" "$ev"
  DEFENCE="KVM: private pages only in the guest_memfd"
  ATTEMPT="read /proc/<vmm>/mem at the memslot"
  r=$(proc_mem)
  [ "$(kv secret_qwords "$r")" = 0 ] && p=yes || p=no
  pjudge pvm_proc_mem pvm_proc_mem "$p" "$r" kvm
  DEFENCE="vbh: IOMMU mirror without private frames"
  ATTEMPT="edu DMA read of private frame 0"
  log_mark
  r=$(atk dma_read "$p0")
  [ "$(kv data_words "$r")" = 0 ] && p=yes || p=no
  pjudge pvm_dma pvm_dma "$p" "$(one "$r")" "$(dma_fault "$p0" read)"
  DEFENCE="vbh: shadow NPT admits a domain frame only under its bound roots"
  ATTEMPT="second VMCB12, its nested tables map private frame 0"
  log_mark
  nest_read "$p0"
  [ "$(kv result "$NEST_R")" != ran ] || [ "$(kv word "$NEST_R")" != "$("$PEEK" "$VM_SEED" word 0)" ] &&
    r=yes || r=no
  ev=$(logged npf "$p0")
  case $NEST_R in *exit=0x400*|*exit=0x7f*) ev=yes ;; esac
  pjudge pvm_nest_npt pvm_nest_npt "$r" "$NEST_R" "$ev"
  # The same with the VM's own root (bound to its domain, so vbh's shadow of it holds
  # the private frames): only vbh's authoritative vCPU state (issue 13 point 3) refuses
  # a VMCB12 on a bound root that is not the VM's vCPU.
  DEFENCE="vbh: a bound root runs only the VM's own vCPU state"
  ATTEMPT="second VMCB12 on the VM's own NPT root and CR3, host code"
  log_mark
  nest_vm_read
  [ "$(kv result "$NEST_R")" != ran ] || [ "$(kv word "$NEST_R")" != "$(secret_word0)" ] &&
    r=yes || r=no
  pjudge pvm_root_reuse pvm_root_reuse "$r" "$NEST_R" "$(logged vmrun_refused)"
  # The frame into a second VM's domain, or at another gfn of its own: GUEST_DONATE and
  # HOST_DONATE of a frame some domain holds are VBH_E_STATE. Control: the same calls
  # with a host frame succeed (and are undone).
  DEFENCE="vbh: a frame is private to one domain at one gfn"
  VM_DOM=$(dmesg | sed -n "s/.*kvm: vbh: protected VM (pid $VM_PID) is vbh domain \([0-9]*\).*/\1/p" | tail -n1)
  d2=$(kv out0 "$(atk hc 0x10 0 0 0 0)")
  g=$(alloc 0)
  st="$(kv status "$(atk hc 0x26 "$g" 1 "$d2" 0x400)") $(kv status "$(atk hc 0x27 "$g" 1 0 0)")"
  st="$st $(kv status "$(atk hc 0x26 "$g" 1 "${VM_DOM:-0}" 0x800)") $(kv status "$(atk hc 0x27 "$g" 1 0 0)")"
  ATTEMPT="GUEST_DONATE + GUEST_RECLAIM of a host frame" r=$BOARD BOARD=${CTRL_BOARD:-$BOARD}
  if [ "$st" = "0 0 0 0" ]; then prove pvm_hc yes "host frame $g: donate to domain $d2 and $VM_DOM at a free gfn, reclaim: $st"
  else prove pvm_hc no "host frame $g, statuses $st (domains $d2, ${VM_DOM:-none})"; fi
  BOARD=$r
  ATTEMPT="GUEST_DONATE/HOST_DONATE private frame 0 to a second domain"
  st="$(kv status "$(atk hc 0x26 "$p0" 1 "$d2" 0x400)") $(kv status "$(atk hc 0x22 "$p0" 1 "$d2" 0)")"
  [ "$st" = "5 5" ] && r=yes || r=no
  pjudge pvm_second_vm pvm_hc "$r" "statuses $st (want 5 5: VBH_E_STATE), domain $d2" status
  ATTEMPT="GUEST_DONATE private frame 0 again, own domain, gfn 0x800"
  st=$(kv status "$(atk hc 0x26 "$p0" 1 "${VM_DOM:-0}" 0x800)")
  [ "$st" = 5 ] && r=yes || r=no
  pjudge pvm_other_gfn pvm_hc "$r" "status $st (want 5: VBH_E_STATE), domain ${VM_DOM:-none}" status
  atk hc 0x11 "$d2" 0 0 0 > /dev/null
}
# attacks_vbh_released: what the VMM saw in its own mapping during the hold.
attacks_vbh_released() {
  local n
  DEFENCE="KVM: private pages only in the guest_memfd"
  ATTEMPT="the VMM reads its own mapping of the memslot"
  n=$(kv own_mapping_secret_qwords "$(vm_line 'info protected_resume')")
  [ "$n" = 0 ] && r=yes || r=no
  pjudge pvm_vmm_mapping pvm_vmm_mapping "$r" "own_mapping_secret_qwords=$n of 8192" kvm
}

# code_rewrite_vbh: the held protected VM ran with --rewrite-code: the VMM rewrote the
# shared code at the guest's return point as in the control, but the guest runs its
# secret stage from private copies under private page tables (docs/vmm.md "Private
# code"). Evidence: the rewrite was done (its info line) and the guest ran on past it
# to its own final check of the secret, which passed.
code_rewrite_vbh() {
  local n ev
  DEFENCE="guest: secret stage runs from private code and page tables"
  ATTEMPT="rewrite the guest's shared code after the hold (VMM's mapping)"
  n=$(rewrite_qwords)
  [ "${n:-x}" = 0 ] && r=yes || r=no
  if [ -z "$(vm_line 'info protected_rewrite at=')" ]; then ev="no: the VMM never rewrote the code"
  elif [ -z "$(vm_line 'check protected.secret_intact pass')" ]; then ev="no: the guest's final check did not pass"
  else ev=yes; fi
  pjudge pvm_code_rewrite pvm_code_rewrite "$r" "exfil_qwords=${n:-none} of 8192; $(vm_line 'info protected_rewrite at=' | cut -d' ' -f3-); $(vm_line 'check protected.secret_intact' | cut -d' ' -f3-)" "$ev"
}

# redirect_vbh: after vbh-vmm --redirect ran (its own protected VM): did the host's
# code get the secret? vbh must refuse the VMRUN whose RIP the host rewrote (issue 13
# point 3); the vCPU then stops (denial of service, reported).
redirect_vbh() {
  local n
  DEFENCE="vbh: authoritative protected vCPU state"
  ATTEMPT="redirect vCPU 0 (KVM_SET_REGS RIP) to host code in shared RAM"
  n=$(redirect_qwords)
  [ "${n:-0}" = 0 ] && r=yes || r=no
  pjudge pvm_redirect pvm_redirect "$r" "exfil_qwords=${n:-none} of 8192, vbh-vmm exit $VM_RC" \
    "$(logged vmrun_refused)"
}

# reclaim_live: GUEST_RECLAIM of a private frame the held guest has mapped (a second
# protected VM, its own secret). vbh scrubs the frame and drops every shadow before the
# host maps it (docs/hypercalls.md): contained when the host then reads no secret from
# it. The guest loses that page's content (it reads the scrubbed frame): denial of
# service, which the host can always do; vbh-vmm's secret check then fails by 4096
# bytes or the vCPU stops, and that is reported, not judged.
reclaim_live() {
  local p0 st
  p0=$(first_word "$VM_PFNS")
  DEFENCE="vbh: GUEST_RECLAIM scrubs, then flushes every shadow"
  ATTEMPT="GUEST_RECLAIM private frame 0 while mapped, then read it"
  st=$(kv status "$(atk hc 0x27 "$p0" 1 0 0)")
  scan_pfns "$p0"
  if [ "$st" = 0 ]; then
    [ "$HITS" = 0 ] && [ "$ZERO" = 1 ] && r=yes || r=no
  else
    [ "$HITS" = 0 ] && [ "$FAULTS" = 1 ] && r=yes || r=no
  fi
  RECLAIM_OBS="status $st, then hits=$HITS zero=$ZERO faults=$FAULTS"
  pjudge pvm_reclaim_live pvm_dmap "$r" "$RECLAIM_OBS" status
}

# teardown_counts DOM: kvm.ko's teardown line of DOM balances (donated == reclaimed +
# returned by DOMAIN_DESTROY, roots bound == unbound), and vbh agrees: the domain is
# gone (DOMAIN_DESTROY of it: VBH_E_NO_DOMAIN), every frame is the host's again
# (GUEST_RECLAIM: VBH_E_STATE) and reads without a fault and without the secret.
teardown_counts() {
  local l d r x b u st1 st2
  l=$(dmesg | grep "kvm: vbh: domain $1 destroyed:" | tail -n1)
  d=$(echo "$l" | sed -n 's/.*: \([0-9]*\) frames donated, \([0-9]*\) reclaimed, \([0-9]*\) returned.*; \([0-9]*\) roots bound, \([0-9]*\) unbound.*/\1 \2 \3 \4 \5/p')
  # shellcheck disable=SC2086 # five numbers
  set -- $d
  if [ $# = 5 ] && [ "$1" -ge 16 ] && [ "$1" = $(($2 + $3)) ] && [ "$4" = "$5" ]; then
    pass pvm_teardown_balanced "donated $1 = reclaimed $2 + returned $3; roots $4 bound, $5 unbound"
  else
    fail pvm_teardown_balanced "kvm.ko teardown line: ${l:-none}"
  fi
  TEARDOWN="donated ${1:-?} = reclaimed ${2:-?} + returned ${3:-?}, roots ${4:-?}/${5:-?}"
  st1=$(kv status "$(atk hc 0x11 "$VM_DOM" 0 0 0)")
  st2=$(kv status "$(atk hc 0x27 "$(first_word "$VM_PFNS")" 1 0 0)")
  scan_pfns "$VM_PFNS"
  if [ "$st1" = 6 ] && [ "$HITS" = 0 ] && [ "$FAULTS" = 0 ]; then
    pass pvm_frames_back "domain $VM_DOM gone (DOMAIN_DESTROY: $st1), 16 frames host-readable, no secret (GUEST_RECLAIM of them: $st2)"
  else
    fail pvm_frames_back "DOMAIN_DESTROY $VM_DOM: $st1, GUEST_RECLAIM: $st2, hits=$HITS faults=$FAULTS"
  fi
  FRAMES_BACK="domain gone (status $st1), 16/16 frames host's (faults $FAULTS), secret hits $HITS"
}
