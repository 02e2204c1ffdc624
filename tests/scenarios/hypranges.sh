# shellcheck shell=dash
# boot: --smp 2 --timeout 300 --append no_timer_check
# Issue 3: "reading a page of every range in hyp_ranges fails gracefully and is logged by
# the hypervisor". For the first and the last page of EVERY range in
# /sys/kernel/vbh/hyp_ranges, a direct-map read from a kernel module (vbh_attack.ko's
# dmap_read, copy under an exception-table entry) must fault with the #GP vbh injects
# (trap 13), the hypervisor's log must hold an NPF for that frame, and the host must go
# on: the hypervisor still answers VBH_HC_VERSION and the kernel log stays clean.
# The same read is first proven to succeed, with the right bytes, on a host frame.
# vbh.hypranges_defence=off loads the test loader (/lib/vbh/test/vbh.ko, vbh-test.bin)
# with attackable=1 (hypervisor memory left in the host NPT): then every one of those reads must SUCCEED, proving the harness reaches the
# hypervisor's frames and that "faulted" above is the defence, not a broken harness.
CDIR=/lib/vbh/bin
ko=/lib/vbh/vbh.ko
[ -r "$CDIR/containment-lib.sh" ] || { fail attack_files "containment-lib.sh missing"; exit 0; }
. "$CDIR/containment-lib.sh"

load_attack || exit 0
mark=$(dmesg_mark)

# Defence off: the harness reads an ordinary frame and gets its bytes.
C=$(alloc 0)
atk fill "$C" 1 0xc0 > /dev/null
want=$(kv hash "$(atk hash "$C" 1)")
r=$(atk @0 dmap_read "$C")
if [ "$(res "$r")" = read ] && [ "$(kv hash "$r")" = "$want" ]; then
  pass harness_proven "dmap_read of host pfn $C: $(one "$r")"
else
  fail harness_proven "dmap_read of host pfn $C did not read it: $(one "$r")"; exit 0
fi

defence=$(param hypranges_defence on)
opt=; [ "$defence" = off ] && { opt=attackable=1; ko=/lib/vbh/test/vbh.ko; }
if ! out=$(insmod "$ko" $opt 2>&1); then fail insmod_vbh "$out"; exit 0; fi
check_status vbh_status /sys/kernel/vbh/status
use_out_frame || fail out_frame "no 'vbh: output frame pfn' line in dmesg"

ranges=0 as_expected=0 missed=0
LOG_SEQ=0
log_mark
while IFS=- read -r s e; do
  [ -n "$s" ] || continue
  ranges=$((ranges + 1))
  for pfn in $((0x$s >> 12)) $((0x$e >> 12)); do
    pfn=$(hpfn "$pfn")
    r=$(atk @0 dmap_read "$pfn")
    l=$(logged npf "$pfn")
    if [ "$defence" = off ]; then
      # Defence off: the read must land; nothing to log.
      if [ "$(res "$r")" = read ]; then as_expected=$((as_expected + 1))
      else missed=$((missed + 1)); fail "hyp_read_$pfn" "defence off, not read: $(one "$r")"; fi
    elif [ "$(res "$r")" = fault ] && [ "$(kv trap "$r")" = 13 ] && [ "$l" = yes ]; then
      as_expected=$((as_expected + 1))
    else
      missed=$((missed + 1))
      fail "hyp_read_$pfn" "range $s-$e: $(one "$r") logged=$l"
    fi
  done
done < /sys/kernel/vbh/hyp_ranges

if [ "$defence" = off ]; then
  if [ "$ranges" -gt 0 ] && [ "$missed" = 0 ]; then
    pass hyp_ranges_readable_undefended "$ranges range(s), $as_expected page reads succeeded with attackable=1"
  else
    fail hyp_ranges_readable_undefended "$ranges range(s), $missed page reads did not succeed"
  fi
elif [ "$ranges" -gt 0 ] && [ "$missed" = 0 ]; then
  pass hyp_ranges_unreadable "$ranges range(s), $as_expected page reads faulted (#GP) and logged as NPF"
else
  fail hyp_ranges_unreadable "$ranges range(s), $as_expected blocked, $missed not blocked or not logged"
fi
metric hyp_ranges "$ranges" ranges
r=$(atk hc 0x00 0 0 0 0)   # VBH_HC_VERSION -> VBH_OK, VBH_ABI_VERSION 0.1
same hypervisor_alive "status=0 out0=0x1" \
  "$(echo "$r" | grep -o 'status=[0-9]* out0=[0-9a-fx]*')"
dmesg_clean kernel_log_clean "$mark"
