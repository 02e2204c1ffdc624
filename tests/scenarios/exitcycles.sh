# shellcheck shell=dash
# boot: --smp 2 --timeout 200
# The hypervisor's time per exit (VBH_HC_CYCLES_READ, /sys/kernel/vbh/exit_cycles,
# docs/loader.md) against its exit counters (VBH_HC_STATS_READ), in a real launch:
#  1. N null hypercalls on each CPU show up as N more timed hypercall exits there;
#  2. every line is self-consistent: its buckets sum to its count, max lies in the
#     highest non-empty bucket, mean <= max;
#  3. timed exits agree with the exit counters read just before and just after
#     (an exit is timed at the next VMRUN, so at most one per CPU is still open);
#  4. vbhctl cycles prints the table and valid JSON; a bad CPU gets VBH_E_RANGE;
#  5. the rest of vbhctl against this running vbh (it shares the boot): exit 3 before
#     the launch, status, version, the stats table (one row per CPU + total), stats
#     --json (printed as VBHCTL-JSON lines; qemu-nested/test.sh validates it with
#     python3), log --follow, bench on every CPU, status names, usage errors.
ko=/lib/vbh/vbh.ko
sys=/sys/kernel/vbh
n=$(online_cpus)
N=200
[ -r "$ko" ] || { fail module_present "$ko is not in the initramfs"; exit 0; }
mark=$(dmesg_mark)
check vbhctl_not_loaded sh -c 'vbhctl version > /dev/null 2>&1; [ $? -eq 3 ]'
check insmod insmod "$ko"
check_status launched "$sys/status"

# cycles_of CPU KIND [FILE]: count= of that line (0 when absent)
cycles_of() {
  awk -v c="cpu=$1" -v k="kind=$2" '$1 == c && $2 == k { sub(/^count=/, "", $3); print $3; f = 1 }
    END { if (!f) print 0 }' "${3:-$sys/exit_cycles}"
}
# exits_of CPU KIND FILE: exit_KIND= of that CPU's stats line
exits_of() {
  awk -v c="cpu=$1" -v k="exit_$2" '$1 == c { for (i = 2; i <= NF; i++) {
      split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$3"
}

# 1. N hypercalls per CPU, each through /dev/vbh on that CPU.
cat "$sys/exit_cycles" > /tmp/vbh/c0
cpu=0
while [ $cpu -lt "$n" ]; do
  taskset -c $cpu vbhctl bench -i $N > /dev/null 2>&1 || fail "bench_cpu$cpu" "vbhctl bench failed"
  cpu=$((cpu + 1))
done
cat "$sys/exit_cycles" > /tmp/vbh/c1
cpu=0
while [ $cpu -lt "$n" ]; do
  a=$(cycles_of $cpu hypercall /tmp/vbh/c0) b=$(cycles_of $cpu hypercall /tmp/vbh/c1)
  if [ $((b - a)) -ge $N ]; then pass "timed_cpu$cpu" "hypercall exits timed: $a -> $b (+$N issued)"
  else fail "timed_cpu$cpu" "hypercall exits timed: $a -> $b, want at least +$N"; fi
  cpu=$((cpu + 1))
done

# 2. Each line on its own.
bad=$(awk '{ cnt = 0; sum = 0; mx = 0; top = -1; h = 0
    for (i = 1; i <= NF; i++) { split($i, kv, "=")
      if (kv[1] == "count") cnt = kv[2]; else if (kv[1] == "cycles") sum = kv[2]
      else if (kv[1] == "max") mx = kv[2]
      else if (kv[1] == "hist") { m = split(kv[2], bs, ",")
        for (j = 1; j <= m; j++) { split(bs[j], p, ":"); h += p[2]; if (p[1] + 0 > top) top = p[1] + 0 } } }
    if (h != cnt || cnt == 0 || sum / cnt > mx || (top > 0 && mx < 2 ^ top) || (top < 28 && mx >= 2 ^ (top + 1)))
      print "bad line: " $0 " (bucket sum " h ")" }' /tmp/vbh/c1)
lines=$(grep -c kind= /tmp/vbh/c1)
if [ -z "$bad" ] && [ "$lines" -gt 0 ]; then pass lines_consistent "$lines line(s): buckets sum to count, max in the top bucket"
else fail lines_consistent "${bad:-no line}"; fi

# 3. Timed exits vs counters: stats(t0) - 1 <= timed(t1) <= stats(t2) per CPU and kind.
cat "$sys/stats" > /tmp/vbh/s0
cat "$sys/exit_cycles" > /tmp/vbh/c2
cat "$sys/stats" > /tmp/vbh/s2
err=''
cpu=0
while [ $cpu -lt "$n" ]; do
  for k in hypercall msr_read msr_write npf nmi virt_insn; do
    lo=$(exits_of $cpu $k /tmp/vbh/s0) t=$(cycles_of $cpu $k /tmp/vbh/c2) hi=$(exits_of $cpu $k /tmp/vbh/s2)
    if [ -z "$lo" ] || [ -z "$hi" ] || [ "$t" -lt $((lo - 1)) ] || [ "$t" -gt "$hi" ]; then
      err="$err cpu$cpu/$k: exits $lo..$hi timed $t;"
    fi
  done
  cpu=$((cpu + 1))
done
if [ -z "$err" ]; then pass agrees_with_counters "timed exits within [counter before - 1, counter after] on $n CPUs"
else fail agrees_with_counters "$err"; fi
awk '{ k = $2; c = $1; sub(/^kind=/, "", k); sub(/^cpu=/, "cpu", c); print k "." c, $0 }' /tmp/vbh/c2 |
  while read -r name line; do
    metric "hypcyc.$name" "$(($(kv cycles "$line") / $(kv count "$line")))" cycles
  done

# 4. vbhctl, and an exact status for a CPU that does not exist.
out=$(vbhctl cycles 2>&1)
case $out in *hypercall*) pass vbhctl_table "$(echo "$out" | head -n 3)" ;; *) fail vbhctl_table "$out" ;; esac
if vbhctl cycles --json > /tmp/vbh/cyc.json 2>&1 && grep -q '"kind": "hypercall"' /tmp/vbh/cyc.json
then pass vbhctl_json "$(wc -c < /tmp/vbh/cyc.json) bytes"
else fail vbhctl_json "$(head -c 300 /tmp/vbh/cyc.json)"; fi
out=$(vbhctl hypercall cycles_read $((n + 5)) 0 2>&1)
case $out in *"status=range"*) pass bad_cpu_range "$out" ;; *) fail bad_cpu_range "$out" ;; esac

# 5. The rest of vbhctl.
check vbhctl_status vbhctl status
check vbhctl_version vbhctl version
vbhctl stats > /tmp/vbh/stats.txt 2>&1; rc=$?
rows=$(grep -cE '^[0-9]+ ' /tmp/vbh/stats.txt)
if [ $rc -eq 0 ] && [ "$rows" -eq "$n" ] && grep -q '^total ' /tmp/vbh/stats.txt; then
  pass stats_table "$rows CPU rows + total"
else fail stats_table "rc=$rc rows=$rows: $(head -c 200 /tmp/vbh/stats.txt)"; fi
vbhctl stats --json > /tmp/vbh/stats.json 2>&1; rc=$?
sed 's/^/VBHCTL-JSON /' /tmp/vbh/stats.json
if [ $rc -eq 0 ]; then pass stats_json_rc "exit 0, $(wc -c < /tmp/vbh/stats.json) bytes"
else fail stats_json_rc "rc=$rc"; fi
timeout 20 vbhctl log --follow --from 0 --count 3 > /tmp/vbh/follow.txt 2>&1; rc=$?
got=$(grep -c '^seq=' /tmp/vbh/follow.txt)
if [ $rc -eq 0 ] && [ "$got" -eq 3 ]; then pass log_follow_count "3 entries, exit 0"
else fail log_follow_count "rc=$rc entries=$got"; fi
# Nothing new arrives: --follow keeps polling until killed.
timeout 2 vbhctl log --follow > /dev/null 2>&1; rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 143 ]; then pass log_follow_waits "still polling after 2 s"
else fail log_follow_waits "rc=$rc"; fi
cpu=0
while [ $cpu -lt "$n" ]; do
  taskset -c $cpu vbhctl bench --iterations 5000 > /tmp/vbh/bench.txt 2>&1; rc=$?
  med=$(sed -n 's/^null hypercall.* median= *\([0-9]*\) ns.*/\1/p' /tmp/vbh/bench.txt)
  p99=$(sed -n 's/^null hypercall.* p99= *\([0-9]*\) ns.*/\1/p' /tmp/vbh/bench.txt)
  base=$(sed -n 's/^ioctl baseline.* median= *\([0-9]*\) ns.*/\1/p' /tmp/vbh/bench.txt)
  if [ $rc -eq 0 ] && [ -n "$med" ]; then
    pass "vbhctl_bench_cpu$cpu" "median $med ns, p99 $p99 ns, ioctl baseline $base ns"
  else fail "vbhctl_bench_cpu$cpu" "rc=$rc $(head -c 300 /tmp/vbh/bench.txt)"; fi
  cpu=$((cpu + 1))
done
vbhctl hypercall 0x77 > /tmp/vbh/hc.txt 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q 'status=unknown_call' /tmp/vbh/hc.txt; then pass status_named "$(cat /tmp/vbh/hc.txt)"
else fail status_named "rc=$rc $(cat /tmp/vbh/hc.txt)"; fi
vbhctl frobnicate > /tmp/vbh/usage.txt 2>&1; rc=$?
if [ $rc -eq 2 ] && grep -q Usage /tmp/vbh/usage.txt; then pass usage_exit2 "exit 2 + usage"
else fail usage_exit2 "rc=$rc"; fi
dmesg_clean kernel_log_clean "$mark"
