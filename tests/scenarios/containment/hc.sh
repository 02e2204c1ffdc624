# shellcheck shell=dash
# Attacks 2 and 3 of docs/containment.md: hostile hypercalls, issued with VMMCALL from
# the module (not through /dev/vbh, whose pass-through would add nothing), and from
# ring 3. Each must return its exact error status and change nothing: the secret hash,
# the host's access to its own frames and the hypervisor's answer are checked by judge.
# Status numbers: hypercalls/include/vbh/abi.h.

OK=0 E_UNKNOWN=1 E_INVALID=2 E_RANGE=3 E_OVERFLOW=4 E_STATE=5 E_NO_DOMAIN=6 E_DENIED=8

ram_end_pfn() { # first pfn after the highest "System RAM" range of /proc/iomem
  local e
  e=$(grep 'System RAM' /proc/iomem | tail -n1 | sed 's/^ *[0-9a-f]*-\([0-9a-f]*\).*/\1/')
  printf '0x%x' $(((0x$e + 1) >> 12))
}

# ram_hole: "RAM FIRST LAST": the last whole RAM frame before, and the first and last
# pfns of, the first hole between two "System RAM" ranges of
# /proc/iomem (top level), whole frames only: a non-RAM gap with RAM on both sides,
# e.g. the legacy VGA/ROM window 0xa0-0xff. Empty if RAM has no hole.
ram_hole() {
  grep '^[0-9a-f]*-[0-9a-f]* : System RAM' /proc/iomem | sed 's/^\([0-9a-f]*\)-\([0-9a-f]*\).*/\1 \2/' |
  { prev=
    while read -r b e; do
      if [ -n "$prev" ]; then
        first=$(((prev + 1 + 0xfff) >> 12)) last=$(((0x$b >> 12) - 1))
        [ "$first" -le "$last" ] &&
          { printf '0x%x 0x%x 0x%x\n' $((((prev + 1) >> 12) - 1)) "$first" "$last"; break; }
      fi
      prev=0x$e
    done; }
}

# hc_case NAME WANT ATTEMPT CALL ARGS...: WANT is one status or several "2|5".
# Any refusal blocks the attack; only the exact status counts as evidence, so a wrong
# error code is "unproven", and a hostile call that succeeds is LEAKED.
hc_case() {
  local name=$1 want=$2 r st b=no ev=no; ATTEMPT=$3; shift 3
  r=$(atk @0 hc "$@")
  st=$(kv status "$r")
  [ "$(res "$r")" = returned ] && [ "$st" != $OK ] && b=yes
  case "|$want|" in *"|$st|"*) ev=status ;; esac
  [ "$(res "$(atk hash "$C" 1)")" = read ] || { b=no; r="$r; host lost its control frame"; }
  judge "$name" hc_control $b "want $want: $(one "$r")" $ev
}

# The positive control: well-formed calls succeed and change state in this boot.
hc_control() {
  local a b c d
  ATTEMPT="donate/fill/hash/reclaim a host frame" DEFENCE="none (well-formed calls)"
  a=$(kv status "$(atk hc 0x22 "$G" 1 "$DOM2" 0)")
  b=$(res "$(atk dmap_read "$G")")
  c=$(kv status "$(atk hc 0x30 "$DOM2" "$G" 1 7)")
  d=$(kv status "$(atk hc 0x23 "$G" 1 "$DOM2" 0)")
  [ "$a$c$d" = 000 ] && [ "$b" = fault ] && ok=yes || ok=no
  prove hc_control $ok "donate=$a host_read_while_donated=$b fill=$c reclaim=$d"
}

hc_vbh() {
  local end hole max=0xffffffffffffffff
  DEFENCE="validate every frame, exact status"
  end=$(ram_end_pfn)
  hc_case hc_unknown $E_UNKNOWN "unknown call 0x7f" 0x7f 0 0 0 0
  hc_case hc_beyond_ram $E_RANGE "donate first pfn after RAM ($end)" 0x22 "$end" 1 "$DOM" 0
  hc_case hc_beyond_pa $E_RANGE "donate pfn 2^40" 0x22 0x10000000000 1 "$DOM" 0
  hc_case hc_mmio_lapic $E_RANGE "donate LAPIC pfn 0xfee00 (MMIO above RAM)" 0x22 0xfee00 1 "$DOM" 0
  hc_case hc_mmio_hpet $E_RANGE "donate HPET pfn 0xfed00 (MMIO above RAM)" 0x22 0xfed00 1 "$DOM" 0
  hole=$(ram_hole)
  if [ -n "$hole" ]; then
    set -- $hole
    hc_case hc_hole_first $E_RANGE "donate pfn $2, first of a hole inside RAM" 0x22 "$2" 1 "$DOM" 0
    hc_case hc_hole_last $E_RANGE "donate pfn $3, last of a hole inside RAM" 0x22 "$3" 1 "$DOM" 0
    hc_case hc_hole_span $E_RANGE "donate RAM pfn $1 up to hole pfn $2" 0x22 "$1" $(($2 - $1 + 1)) "$DOM" 0
  else
    ATTEMPT="donate a frame in a hole inside RAM"
    record hc_hole_first unproven "no hole between System RAM ranges in /proc/iomem"
  fi
  hc_case hc_hyp_frame $E_STATE "donate a hypervisor frame" 0x22 "$H" 1 "$DOM" 0
  hc_case hc_count_zero $E_INVALID "donate count 0" 0x22 "$C" 0 "$DOM" 0
  hc_case hc_count_overflow $E_OVERFLOW "donate count 2^64-1" 0x22 "$C" $max "$DOM" 0
  hc_case hc_pfn_wrap $E_OVERFLOW "donate pfn 2^64-16, count 32" 0x22 0xfffffffffffffff0 32 "$DOM" 0
  hc_case hc_double_donate $E_STATE "donate the secret again" 0x22 "$S" 1 "$DOM" 0
  hc_case hc_donate_other $E_STATE "donate the secret to dom2" 0x22 "$S" 1 "$DOM2" 0
  hc_case hc_foreign_reclaim $E_STATE "reclaim secret as dom2" 0x23 "$S" 1 "$DOM2" 0
  hc_case hc_reclaim_host $E_STATE "reclaim a host frame" 0x23 "$C" 1 "$DOM" 0
  hc_case hc_bad_domain $E_NO_DOMAIN "donate to dom 63 (never made)" 0x22 "$C" 1 63 0
  hc_case hc_host_domain "$E_INVALID|$E_NO_DOMAIN" "donate to dom 0 (host)" 0x22 "$C" 1 0 0
  hc_case hc_destroy_host "$E_INVALID|$E_NO_DOMAIN|$E_DENIED" "destroy dom 0" 0x11 0 0 0 0
  hc_case hc_share_secret $E_STATE "share the secret with dom2" 0x20 "$S" 1 "$DOM2" 0
  hc_case hc_hyp_donate_secret $E_STATE "HYP_DONATE the secret" 0x24 "$S" 1 0 0
  hc_case hc_hyp_donate_hyp $E_STATE "HYP_DONATE a hypervisor frame" 0x24 "$H" 1 0 0
  hc_case hc_fill_host $E_STATE "TEST_FILL a host frame" 0x30 "$DOM" "$C" 1 1
  hc_case hc_hash_hyp $E_STATE "TEST_HASH a hypervisor frame" 0x31 "$DOM" "$H" 1 0
  hc_case hc_log_into_secret $E_STATE "LOG_READ into the secret" 0x41 "$S" 0 0 0
  hc_case hc_log_into_hyp $E_STATE "LOG_READ into a hyp frame" 0x41 "$H" 0 0 0
  hc_case hc_stats_into_secret $E_STATE "STATS_READ into the secret" 0x40 0 "$S" 0 0
  hc_case hc_cycles_into_secret $E_STATE "CYCLES_READ into the secret" 0x42 0 "$S" 0 0
  hc_case hc_cycles_into_hyp $E_STATE "CYCLES_READ into a hyp frame" 0x42 0 "$H" 0 0
  hc_case hc_list_in_secret $E_STATE "DONATE_LIST, list in secret" 0x25 $((S << 12)) 1 "$DOM2" 0
  hc_case hc_list_in_hyp $E_STATE "DONATE_LIST, list in hyp frame" 0x25 $((H << 12)) 1 "$DOM2" 0
  hc_case hc_devirt_sealed $E_DENIED "DEVIRT after seal" 0xf1 0 0 0 0
  list_overlap
  ring3
}

list_write() { # list_write PFN COUNT PFN COUNT: two struct vbh_frame_range at L
  atk poke "$LST" 0 "$1" > /dev/null && atk poke "$LST" 8 "$2" > /dev/null &&
    atk poke "$LST" 16 "$3" > /dev/null && atk poke "$LST" 24 "$4" > /dev/null
}

list_overlap() { # DONATE_LIST with two overlapping ranges: refused, nothing donated
  list_write "$G" 1 "$G" 1
  hc_case hc_list_overlap "$E_INVALID|$E_STATE" "DONATE_LIST {G,1},{G,1}" \
    0x25 $((LST << 12)) 2 "$DOM2" 0
  [ "$(res "$(atk dmap_read "$G")")" = read ] ||
    record hc_list_overlap_state LEAKED "G was donated by a refused overlapping list"
}

ring3() {
  local r b=no
  ATTEMPT="VMMCALL VBH_HC_VERSION from ring 3" DEFENCE="ring-0 only: #UD or E_DENIED"
  if ! command -v vbh_ring3 > /dev/null; then
    record ring3_vmmcall unproven "vbh_ring3 not in the initramfs (tests/containment/build.sh)"
    return
  fi
  r=$(vbh_ring3)
  case $r in result=sigill*) b=yes ;; *"status=$E_DENIED "*) b=yes ;; esac
  judge ring3_vmmcall hc_control $b "$r" status
}
