# shellcheck shell=dash
# Attack 13 (DMA and the IOMMU, docs/containment.md; docs/threats.md #9-#10): QEMU's
# edu device, driven by the hostile module (attack/dma.c), reads and writes frames the
# host may not touch; the host CPU and the device write the VT-d unit's registers.
# Bare: each harness works against a host frame and the unit's registers. vbh: the
# donated secret, a hypervisor frame, the first and last page of every hypervisor range
# (where the NPT and the IOMMU's own tables live) and the unit's registers; a device
# writing an ordinary host page must keep working.
# Globals from containment.sh: C (control frame), S (secret), H (hypervisor frame).

# The first VT-d unit's register base (DMAR table: 48-byte header, then the DRHD with
# its base at offset 8 of the structure); empty without a DMAR table.
vtd_base() {
  local t=/sys/firmware/acpi/tables/DMAR v
  [ -r $t ] || return 0
  v=$(od -An -tx8 -j56 -N8 $t | tr -d ' ')
  [ -n "$v" ] && printf '0x%x' $((0x$v))
}
# FEADDR/FEUADDR: 8 RW bytes without side effects (the fault interrupt stays masked);
# GCMD: the command register (0 turns translation off).
VTD_FEADDR=0x40 VTD_GCMD=0x18

# dma_fault PFN read|write: yes if the log since log_mark holds a dma_fault on PFN of
# that direction (info bit 24: write), else "no: " and what it read.
dma_fault() {
  local out line a i seen= hit=no
  out=$(atk log "$LOG_SEQ")
  for line in $(echo "$out" | grep "^log " | sed 's/ /,/g'); do
    line=$(echo "$line" | tr ',' ' ')
    seen="$seen $(kv kind "$line")@$(kv addr "$line")"
    [ "$(kv kind "$line")" = dma_fault ] || continue
    a=$(kv addr "$line") i=$(kv info "$line")
    [ $((a >> 12)) = $(($1)) ] || continue
    if [ "$2" = write ] && [ $(((i >> 24) & 1)) = 1 ]; then hit=yes; fi
    if [ "$2" = read ] && [ $(((i >> 24) & 1)) = 0 ]; then hit=yes; fi
  done
  LOG_SEQ=$(kv next "$out"); LOG_SEQ=${LOG_SEQ:-0}
  if [ $hit = yes ]; then echo yes; else echo "no: log since mark:${seen:- empty}" | cut -c1-160; fi
}

dma_bare() {
  local r want base
  if [ "$(res "$(atk dma_read "$C")")" = unsupported ]; then
    record dma_read n/a "no edu device (boot with -device edu)"; return
  fi
  ATTEMPT="edu DMA read of a host frame" DEFENCE="none (no vbh loaded)"
  atk fill "$C" 1 0xd1 > /dev/null
  want=$(kv hash "$(atk hash "$C" 1)")
  r=$(atk dma_read "$C")
  [ "$(kv hash "$r")" = "$want" ] && ok=yes || ok=no
  prove dma_read $ok "$(one "$r") want=$want"
  ATTEMPT="edu DMA write to a host frame"
  atk fill "$C" 1 0xd2 > /dev/null
  want=$(kv hash "$(atk hash "$C" 1)")
  atk fill "$C" 1 0xd1 > /dev/null
  r=$(atk dma_write "$C" 0xd2)
  [ "$(kv hash "$(atk hash "$C" 1)")" = "$want" ] && ok=yes || ok=no
  prove dma_write $ok "$(one "$r") want=$want"
  base=$(vtd_base)
  if [ -z "$base" ]; then record vtd_regs_cpu n/a "no DMAR table"; return; fi
  ATTEMPT="CPU write to the VT-d registers"
  r=$(atk mmio_rw $((base + VTD_FEADDR)) 0xfee00000)
  [ "$(res "$r")" = landed ] && ok=yes || ok=no
  prove vtd_regs_cpu $ok "unit $base: $(one "$r")"
  ATTEMPT="edu DMA write to the VT-d registers"
  r=$(atk dma_poke $((base + VTD_FEADDR)) 0xfee01000)
  r="$r $(atk mmio_read $((base + VTD_FEADDR)))"
  [ "$(kv value "$r")" = 0xfee01000 ] && ok=yes || ok=no
  prove vtd_regs_dma $ok "unit $base: $(one "$r")"
}

# dma_read_case NAME PFN TARGET: the device must see none of the frame's data.
dma_read_case() {
  local r b=no
  ATTEMPT="edu DMA read of $3" DEFENCE="frame absent from the IOMMU table"
  log_mark
  r=$(atk dma_read "$2")
  [ "$(res "$r")" = read ] && [ "$(kv data_words "$r")" = 0 ] && b=yes
  judge "$1" dma_read $b "pfn $2: $(one "$r")" "$(dma_fault "$2" read)"
}

dma_vbh() {
  local r b base st i line lo hi pages=
  ATTEMPT="edu DMA attacks" DEFENCE="IOMMU table owned by vbh"
  if ! proven dma_read; then record dma_read n/a "no edu harness in this boot"; return; fi
  st=$(cat /sys/kernel/vbh/status)
  case $st in *" iommu=vtd:"[1-9]*) pass iommu_owned "$st" ;; *) fail iommu_owned "want iommu=vtd:N, got: $st" ;; esac
  dma_read_case dma_read_secret "$S" "the donated secret"
  dma_read_case dma_read_hyp "$H" "a hypervisor frame"
  # Every hypervisor range's first and last page: the NPT's and the IOMMU's own tables
  # come from this memory (the pool), none of it is in the IOMMU table.
  while read -r line; do
    lo=$((0x${line%%-*} >> 12)) hi=$((0x${line##*-} >> 12))
    pages="$pages $lo $hi"
  done < /sys/kernel/vbh/hyp_ranges
  ATTEMPT="edu DMA read of every hyp range's ends" DEFENCE="hyp ranges absent from the IOMMU table"
  b=yes r=
  for i in $pages; do
    st=$(atk dma_read "$i")
    [ "$(res "$st")" = read ] && [ "$(kv data_words "$st")" = 0 ] || b=no
    r="$r $(printf '0x%x' "$i"):$(kv data_words "$st")"
  done
  judge dma_read_hyp_ranges dma_read $b "data words per pfn:$r" status

  ATTEMPT="edu DMA write to the donated secret" DEFENCE="frame absent from the IOMMU table"
  log_mark
  r=$(atk dma_write "$S" 0xbad)
  b=no; [ "$(res "$r")" = done ] && secret_intact && b=yes
  judge dma_write_secret dma_write $b "$(one "$r")" "$(dma_fault "$S" write)"
  ATTEMPT="edu DMA write to a hypervisor frame"
  log_mark
  r=$(atk dma_write "$H" 0xbad)
  st=$(dma_fault "$H" write)
  # The host cannot read H back: the unit's own fault record of the refused write is
  # the observation, and the hypervisor must still answer.
  b=no; [ "$(res "$r")" = done ] && [ "$st" = yes ] && alive && b=yes
  judge dma_write_hyp dma_write $b "$(one "$r") fault_record=$st" "$st"

  base=$(vtd_base)
  if [ -n "$base" ]; then
    ATTEMPT="CPU write to the VT-d registers" DEFENCE="register page absent from host NPT"
    log_mark
    r=$(atk @0 mmio_rw $((base + VTD_FEADDR)) 0xfee00000)
    b=no; [ "$(res "$r")" = fault ] && b=yes
    judge vtd_regs_cpu vtd_regs_cpu $b "unit $base: $(one "$r")" "$(logged npf $((base >> 12)))"
    # The device tries to turn translation off (GCMD = 0), then reads the secret again.
    ATTEMPT="edu DMA GCMD=0 to the VT-d unit" DEFENCE="register page absent from the IOMMU table"
    log_mark
    r=$(atk dma_poke $((base + VTD_GCMD)) 0)
    st=$(dma_fault $((base >> 12)) write)
    r="$r / then $(atk dma_read "$S")"
    b=no; [ "$(kv data_words "$r")" = 0 ] && b=yes
    judge vtd_regs_dma vtd_regs_dma $b "unit $base: $(one "$r")" "$st"
  fi

  # Devices keep working: DMA into and out of an ordinary host page.
  atk fill "$C" 1 0xd2 > /dev/null
  want=$(kv hash "$(atk hash "$C" 1)")
  atk fill "$C" 1 0xd1 > /dev/null
  r=$(atk dma_write "$C" 0xd2)
  same dma_ordinary_write "$want" "$(kv hash "$(atk hash "$C" 1)")"
  r=$(atk dma_read "$C")
  same dma_ordinary_read "$want" "$(kv hash "$r")"
  info "hypervisor CPU 0 counters after DMA: $(one "$(atk stats 0)")"
}
