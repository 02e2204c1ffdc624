# shellcheck shell=dash
# MSI injection (docs/containment.md, row msi_nmi; docs/threats.md #11): the host
# programs QEMU's edu device to send an MSI whose data asks for NMI delivery to APIC id
# 0 (attack/msi.c) and raises it. Bare: the NMI reaches CPU 0 (the host's NMI count
# rises and Linux logs "NMI received for unknown reason": no handler claims it). The
# verdict under vbh depends on the IOMMU:
#   AMD-Vi (tests/scenarios/amdvi.sh): vbh's device table entries clear NMIPass, the
#     unit target-aborts the message, nothing arrives: contained.
#   VT-d (containment.sh): vbh owns DMA remapping only; QEMU 7.2's intel-iommu passes
#     a compatibility-format MSI whenever it is asked to (vtd_interrupt_remap_msi has
#     no CFI gate), so the NMI arrives. It reaches CPU 0 in guest mode as an NMI exit
#     (which vbh reflects to the host): the row is OPEN (listed, not counted as
#     contained), with the hypervisor alive and the secret intact as what holds.
# Needs containment-lib.sh (atk, prove, record) and lib.sh (dmesg_mark, dmesg_since).

# The host's NMI count over every CPU (/proc/interrupts, line "NMI:").
nmis() {
  awk '$1 == "NMI:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' \
    /proc/interrupts
}
nmi_exits_cpu0() { kv exit_nmi "$(atk stats 0)"; }

# msi_nmi_send: edu sends one NMI MSI to APIC id 0. Sets MSI_R (the module's reply),
# MSI_NMIS (NMIs the host counted meanwhile) and MSI_UNKNOWN (unknown-NMI log lines).
msi_nmi_send() {
  local n0 m
  n0=$(nmis) m=$(dmesg_mark)
  MSI_R=$(atk edu_msi 0 4 0)
  MSI_NMIS=$(($(nmis) - n0))
  MSI_UNKNOWN=$(dmesg_since "$m" | grep -c 'NMI received for unknown reason')
}

# msi_extint_send: edu sends one ExtINT MSI to APIC id 0 with vector MSI_EXTINT_VEC
# (attack/msi.c: QEMU 7.2 delivers the vector itself; 0xdf, which no handler holds on
# CPU 0 in these boots). Sets MSI_R and MSI_NOHANDLER: Linux's "No irq handler" lines
# for it since the send (CPU.VECTOR in decimal: 6.12 "No irq handler for 0.223",
# 6.1 "__common_interrupt: 0.223 No irq handler for vector").
MSI_EXTINT_VEC=0xdf
msi_extint_send() {
  local m
  m=$(dmesg_mark)
  MSI_R=$(atk edu_msi 0 7 $MSI_EXTINT_VEC)
  MSI_NOHANDLER=$(dmesg_since "$m" | grep 'No irq handler' | grep -c "[0-9]\.$((MSI_EXTINT_VEC))\( \|\$\)")
}

msi_bare() {
  local ok=no
  ATTEMPT="edu MSI, NMI delivery to CPU 0" DEFENCE="none (no vbh loaded)"
  msi_nmi_send
  if [ "$(res "$MSI_R")" = unsupported ]; then record msi_nmi n/a "no edu device"; return; fi
  [ "$(res "$MSI_R")" = sent ] && [ "$MSI_NMIS" -ge 1 ] && [ "$MSI_UNKNOWN" -ge 1 ] && ok=yes
  prove msi_nmi $ok "$(one "$MSI_R"), host NMIs +$MSI_NMIS, unknown-NMI lines +$MSI_UNKNOWN"
}

# msi_vbh_vtd: the VT-d verdict (above). OPEN only if the message got through the IOMMU
# (an NMI exit on CPU 0) with the hypervisor alive and the secret intact. vbh then
# reflects the NMI to the host, unless a stale flush-kick count swallows it (a kick
# NMI merged with another one leaves a count behind: docs/launch.md); both are noted.
msi_vbh_vtd() {
  local e0 e1 obs how
  ATTEMPT="edu MSI, NMI delivery to CPU 0" DEFENCE="none on QEMU 7.2 VT-d (no IR gate)"
  e0=$(nmi_exits_cpu0)
  msi_nmi_send
  e1=$(nmi_exits_cpu0)
  obs="$(one "$MSI_R"), host NMIs +$MSI_NMIS, unknown-NMI lines +$MSI_UNKNOWN, CPU 0 NMI exits +$((e1 - e0))"
  how="reflected to the host"
  [ "$MSI_NMIS" = 0 ] && how="not reflected (a stale flush-kick count took it)"
  if ! proven msi_nmi; then
    record msi_nmi unproven "$obs (no control: harness msi_nmi unproven on the bare kernel)"
  elif [ "$(res "$MSI_R")" = sent ] && [ $((e1 - e0)) -ge 1 ] && alive && secret_intact; then
    record msi_nmi OPEN "$obs: passed by QEMU 7.2 VT-d (no IR gate), an NMI exit $how; hypervisor alive, secret intact"
  else
    record msi_nmi unproven "$obs: no NMI exit on CPU 0, not what QEMU 7.2 VT-d does"
  fi
}
