# shellcheck shell=dash
# Guest half of tools/vbhctl/qemu_check.sh (sourced by the test initramfs' /init with
# qemu-nested/guest/lib.sh): vbhctl against a running vbh. Output lines prefixed
# "VBHCTL-OUT " are cut out by the host half (the JSON is checked there).
out() { sed 's/^/VBHCTL-OUT /'; }

check not_loaded_first sh -c 'vbhctl version 2>&1; [ $? -eq 3 ]'
insmod /lib/vbh/vbh.ko || { fail insmod "insmod failed"; exit 0; }
check vbhctl_status vbhctl status
check vbhctl_version vbhctl version

vbhctl stats > /tmp/stats.txt 2>&1; rc=$?
out < /tmp/stats.txt
rows=$(grep -cE '^[0-9]+ ' /tmp/stats.txt)
if [ $rc -eq 0 ] && [ "$rows" -eq "$(online_cpus)" ] && grep -q '^total ' /tmp/stats.txt; then
  pass stats_table "$rows CPU rows + total"
else fail stats_table "rc=$rc rows=$rows"; fi

echo "VBHCTL-OUT --- json"
vbhctl stats --json > /tmp/stats.json 2>&1; rc=$?
out < /tmp/stats.json
echo "VBHCTL-OUT --- end json"
[ $rc -eq 0 ] && pass stats_json_rc "exit 0" || fail stats_json_rc "rc=$rc"

vbhctl log | out
timeout 20 vbhctl log --follow --from 0 --count 3 > /tmp/follow.txt 2>&1; rc=$?
out < /tmp/follow.txt
n=$(grep -c '^seq=' /tmp/follow.txt)
if [ $rc -eq 0 ] && [ "$n" -eq 3 ]; then pass log_follow_count "3 entries, exit 0"
else fail log_follow_count "rc=$rc entries=$n"; fi
# Nothing new arrives: --follow keeps polling until killed.
timeout 2 vbhctl log --follow > /dev/null 2>&1; rc=$?
[ $rc -eq 124 ] || [ $rc -eq 143 ] && pass log_follow_waits "still polling after 2 s" \
  || fail log_follow_waits "rc=$rc"

for c in $(seq 0 $(($(online_cpus) - 1))); do
  taskset -c "$c" vbhctl bench --iterations 5000 > /tmp/bench.txt 2>&1; rc=$?
  out < /tmp/bench.txt
  med=$(sed -n 's/^null hypercall.* median= *\([0-9]*\) ns.*/\1/p' /tmp/bench.txt)
  p99=$(sed -n 's/^null hypercall.* p99= *\([0-9]*\) ns.*/\1/p' /tmp/bench.txt)
  base=$(sed -n 's/^ioctl baseline.* median= *\([0-9]*\) ns.*/\1/p' /tmp/bench.txt)
  if [ $rc -eq 0 ] && [ -n "$med" ]; then
    pass "bench_cpu$c" "median $med ns, p99 $p99 ns, ioctl baseline $base ns"
    metric "vbhctl_null_hypercall_median_cpu$c" "$med" ns
    metric "vbhctl_null_hypercall_p99_cpu$c" "$p99" ns
  else fail "bench_cpu$c" "rc=$rc $(cat /tmp/bench.txt)"; fi
done

vbhctl hypercall 0x77 > /tmp/hc.txt 2>&1; rc=$?
out < /tmp/hc.txt
[ $rc -eq 1 ] && grep -q 'status=unknown_call' /tmp/hc.txt && pass status_named "$(cat /tmp/hc.txt)" \
  || fail status_named "rc=$rc $(cat /tmp/hc.txt)"
vbhctl frobnicate > /tmp/usage.txt 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q Usage /tmp/usage.txt && pass usage_exit2 "exit 2 + usage" \
  || fail usage_exit2 "rc=$rc"
