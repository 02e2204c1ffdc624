# shellcheck shell=dash
# Attack 1 against every kind of hypervisor state (docs/containment.md): not only the
# image's first page (mem.sh's hyp_* rows) but each frame of the stack, per-CPU page,
# control blocks (SVM: host VMCB, VMSAVE area, host save area), NPT root, the
# hypervisor's own page-table root, ownership table and log, at the frames the
# hypervisor reported at init (/sys/kernel/vbh/hyp_layout, docs/loader.md).
# The control is the direct-map harness, proven on a host frame in the bare phase.

LAYOUT=/sys/kernel/vbh/hyp_layout
KIND_MAX_FRAMES=3   # frames attacked per kind: the first few (a table can be MiBs)

# kind_attack KIND PFN COUNT: direct-map read of each of the first frames and a write
# to the first; contained only if every access faults and the log has an NPF for it.
kind_attack() {
  local kind=$1 pfn=$2 n=$3 i=0 r b=yes ev=yes obs= w
  [ "$n" -gt $KIND_MAX_FRAMES ] && n=$KIND_MAX_FRAMES
  ATTEMPT="direct-map read of $n frame(s) + write of the first: $kind"
  DEFENCE="frame absent from host NPT"
  while [ $i -lt "$n" ]; do
    log_mark
    r=$(atk @0 dmap_read $((pfn + i)))
    [ "$(res "$r")" = fault ] || b=no
    [ "$(logged npf $((pfn + i)))" = yes ] || ev="no: frame $(hpfn $((pfn + i))) read not logged"
    obs="$obs $(hpfn $((pfn + i))):$(res "$r")"
    i=$((i + 1))
  done
  log_mark
  # The write carries the harness's pattern; if it ever lands, the hypervisor is
  # corrupted and the verdict below says LEAKED.
  w=$(atk @0 dmap_write "$pfn")
  case $(res "$w") in fault|not_landed) ;; *) b=no ;; esac
  [ "$(logged npf "$pfn")" = yes ] || ev="no: frame $(hpfn "$pfn") write not logged"
  judge "hyp_kind_$kind" dmap_read $b "read${obs}; write $(res "$w")" "$ev"
}

kinds_vbh() {
  local kind pfn n seen=0
  if [ ! -r $LAYOUT ]; then
    ATTEMPT="every kind of hypervisor page" DEFENCE="frame absent from host NPT"
    record hyp_kinds unproven "no $LAYOUT: the loader did not report the layout"
    return
  fi
  info "hyp_layout: $(tr '\n' ';' < $LAYOUT)"
  while read -r kind pfn n; do
    kind_attack "$kind" "$pfn" "$n"
    seen=$((seen + 1))
  done < $LAYOUT
  # The layout names 8 kinds (boot.h VBH_LAYOUT_KINDS); fewer means a kind went unreported.
  [ $seen -ge 8 ] || record hyp_kinds unproven "only $seen kinds in $LAYOUT"
}
