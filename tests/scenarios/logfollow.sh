# shellcheck shell=dash
# boot: --smp 2 --timeout 150
# vbhctl log --follow loses nothing the ring still holds (VBH_IOCTL_LOG_READ,
# docs/loader.md). A burst of B blocked reads of a hypervisor frame (vbh_attack.ko's
# dmap_read: one NPF log entry each) lands between two polls; follow must print all B
# with consecutive sequence numbers and report nothing overwritten. B = 120 is more than
# the 24 newest entries /sys/kernel/vbh/log shows (a follower reading only that file
# would miss 96) and less than the 256-entry ring.
CDIR=/lib/vbh/bin
ko=/lib/vbh/vbh.ko
B=120
[ -r "$CDIR/containment-lib.sh" ] || { fail attack_files "containment-lib.sh missing"; exit 0; }
. "$CDIR/containment-lib.sh"
load_attack || exit 0
mark=$(dmesg_mark)
check insmod_vbh insmod "$ko"
check_status vbh_status /sys/kernel/vbh/status

# The first hypervisor frame; the burst starts at the log's next sequence number.
hyp=$(hpfn $((0x$(head -n1 /sys/kernel/vbh/hyp_ranges | cut -d- -f1) >> 12)))
from=$(sed -n '1s/^next_seq=\([0-9]*\) .*/\1/p' /sys/kernel/vbh/log)
i=0 faulted=0
while [ $i -lt $B ]; do
  [ "$(res "$(atk @0 dmap_read "$hyp")")" = fault ] && faulted=$((faulted + 1))
  i=$((i + 1))
done
if [ "$faulted" = $B ]; then pass burst "$B reads of hyp pfn $hyp faulted, log from seq $from"
else fail burst "$faulted of $B reads of hyp pfn $hyp faulted"; exit 0; fi
shown=$(grep -c '^seq=' /sys/kernel/vbh/log)
info "the sysfs log shows $shown entries"

timeout 30 vbhctl log --follow --from "$from" --count $B > /tmp/vbh/follow.out 2> /tmp/vbh/follow.err
rc=$?
seqs=$(sed -n 's/^seq=\([0-9]*\) .*kind=npf .*/\1/p' /tmp/vbh/follow.out)
n=$(echo "$seqs" | grep -c .)
gaps=$(echo "$seqs" | awk -v f="$from" '$1 != f + NR - 1 { g++ } END { print g + 0 }')
if [ $rc -eq 0 ] && [ "$n" = $B ] && [ "$gaps" = 0 ] && [ ! -s /tmp/vbh/follow.err ]; then
  pass follow_all "$n NPF entries, seq $from..$((from + B - 1)), none lost"
else
  fail follow_all "rc=$rc entries=$n gaps=$gaps stderr: $(head -c 200 /tmp/vbh/follow.err)"
fi
dmesg_clean kernel_log_clean "$mark"
