# shellcheck shell=dash
# boot: --smp 2 --timeout 480 --append no_timer_check
# Exit overhead and footprint (docs/benchmarks.md). In ONE boot: every workload BARE,
# then insmod vbh.ko, then every workload again DEPRIVILEGED, so each ratio compares the
# same kernel, page cache and (as far as TCG allows) host load. Benchmarks never pass or
# fail on time: a VBH-CHECK here only says that a benchmark produced a number.
#   vbh.bench_reps=N        runs per workload and mode (5)
#   vbh.bench_scale=P       iteration counts in percent of vbh-bench's defaults (100)
#   vbh.bench_idle_secs=N   idle exit-rate sampling time (5)
#   vbh.bench_rt_iters=N    iterations of each benchmod round-trip loop (20000)
#   vbh.bench_only=a,b      run only these workloads (default: all of `vbh-bench list`)
#   vbh.bench_msr=0xNNN     MSR for the rdmsr loop (0xc0010114, VM_CR: vbh intercepts it)
#   vbh.insmod_args=a=1,b=2 vbh.ko parameters (commas become spaces)
# Metrics (report: tools/report/report.py):
#   wl.MODE.WORKLOAD ns          ns per iteration: median over runs of each run's median
#                                batch (MODE = bare | depriv); robust to host preemption
#   wl.MODE.WORKLOAD.p10 ns      lowest 10th-percentile batch of the runs (least disturbed)
#   wl.MODE.WORKLOAD.fastest|.max ns   fastest and slowest whole run per iteration
#   exits.PHASE.cpuN exit/s      PHASE = idle | WORKLOAD (deprivileged only)
#   rt.MODE.LOOP.cpuN[.cycles|.min|.p50|.p99] ns|cycles   benchmod round trips
#                                (mean ns, mean/fastest/median/99th percentile cycles)
#   tsc_khz kHz                  the guest kernel's TSC frequency (cycles -> ns)
#   hist.MODE.LOOP.cpu0.B count  iterations with 2^B <= cycles < 2^(B+1)
#   exitkind.PHASE.KIND exits    exits by reason during PHASE, all CPUs (KIND: loader/stats.c)
#   launch.insmod ms             insmod wall time; launch.loader_log ms: first vbh: kernel log
#                                line to "running and sealed" (the loader's own timestamps)
#   footprint.hyp|ram B, footprint.hyp_pct %
ko=/lib/vbh/vbh.ko
sys=/sys/kernel/vbh
bm=/sys/kernel/benchmod
reps=$(param bench_reps 5)
scale=$(param bench_scale 100)
idle=$(param bench_idle_secs 5)
rt_iters=$(param bench_rt_iters 20000)
only=$(param bench_only "" | tr ',' ' ')
BENCH=$(command -v vbh-bench || echo /lib/vbh/bin/vbh-bench)
ncpu=$(online_cpus)

div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { printf f "\n", (b ? a / b : 0) }'; }

stats_snapshot() { # "CPU TOTAL exit_KIND=N..." per CPU from $sys/stats (empty when bare)
  # Format (loader/stats.c): cpu=N launched=L total_exits=T exit_hypercall=N ... per line.
  [ -r "$sys/stats" ] || return 0
  awk '
    { cpu = ""; tot = ""; kinds = ""
      for (i = 1; i <= NF; i++) {
        f = $i
        if (f ~ /^cpu=[0-9]+$/) cpu = substr(f, 5)
        else if (f ~ /^total_exits=[0-9]+$/) tot = substr(f, 13)
        else if (f ~ /^exit_[a-z_]+=[0-9]+$/) kinds = kinds " " f
      }
      if (cpu != "" && tot != "") print cpu, tot kinds }' "$sys/stats"
}

exit_rates() { # exit_rates PHASE BEFORE AFTER ELAPSED_NS: exits/s per CPU, exits by reason
  [ -s "$2" ] && [ -s "$3" ] || return 0
  awk -v phase="$1" -v ns="$4" '
    FNR == NR { t0[$1] = $2; for (i = 3; i <= NF; i++) { split($i, kv, "="); k0[$1, kv[1]] = kv[2] }; next }
    ($1 in t0) {
      printf "exits.%s.cpu%s %.1f\n", phase, $1, ($2 - t0[$1]) * 1e9 / ns
      for (i = 3; i <= NF; i++) { split($i, kv, "="); by[kv[1]] += kv[2] - k0[$1, kv[1]] }
    }
    END { for (k in by) if (by[k] > 0) printf "exitkind.%s.%s %d\n", phase, substr(k, 6), by[k] }
  ' "$2" "$3" | while read -r name v; do
    case $name in exits.*) metric "$name" "$v" exit/s ;; *) metric "$name" "$v" exits ;; esac
  done
}

sample_idle() { # exits per second per CPU while nothing runs
  local t0
  stats_snapshot > /tmp/vbh/s0; t0=$($BENCH now)
  sleep "$idle"
  stats_snapshot > /tmp/vbh/s1
  exit_rates idle /tmp/vbh/s0 /tmp/vbh/s1 $(($($BENCH now) - t0))
}

workloads() { # name and iterations, filtered by vbh.bench_only
  $BENCH list | while read -r w n _batch; do
    [ -z "$only" ] || case " $only " in *" $w "*) ;; *) continue ;; esac
    echo "$w" $((n * scale / 100 > 0 ? n * scale / 100 : 1))
  done
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run_workload() { # run_workload MODE NAME ITERS: reps runs of vbh-bench
  # Each run prints "NAME ITERS ELAPSED_NS MEDIAN_NS P10_NS" (tests/guest-bench/main.c).
  local mode=$1 w=$2 n=$3 r=0 out t0 tot='' med='' low='' all=''
  stats_snapshot > /tmp/vbh/s0; t0=$($BENCH now)
  while [ $r -lt "$reps" ]; do
    r=$((r + 1))
    if ! out=$($BENCH "$w" "$n" 2>&1); then
      fail "bench_${mode}_$w" "run $r: $out"; return
    fi
    # shellcheck disable=SC2086 # split into fields
    set -- $out
    if ! { [ "$1 $2" = "$w $n" ] && [ "${3:-0}" -gt 0 ] 2>/dev/null && [ -n "${5:-}" ]; }; then
      fail "bench_${mode}_$w" "run $r: unexpected output: $out"; return
    fi
    tot="$tot $(div "$3" "$n" %.2f)" med="$med $4" low="$low $5" all="$all $(div "$3" 1000000)"
  done
  stats_snapshot > /tmp/vbh/s1
  exit_rates "$w" /tmp/vbh/s0 /tmp/vbh/s1 $(($($BENCH now) - t0))
  metric "wl.$mode.$w" "$(echo "$med" | median)" ns
  metric "wl.$mode.$w.p10" "$(echo "$low" | tr ' ' '\n' | grep . | sort -n | head -n1)" ns
  metric "wl.$mode.$w.fastest" "$(echo "$tot" | tr ' ' '\n' | grep . | sort -n | head -n1)" ns
  metric "wl.$mode.$w.max" "$(echo "$tot" | tr ' ' '\n' | grep . | sort -n | tail -n1)" ns
  pass "bench_${mode}_$w" "$n iterations per run, runs (ms):$all; batch medians (ns):$med"
}

run_all_workloads() { # run_all_workloads MODE
  workloads > /tmp/vbh/workloads
  while read -r w n; do run_workload "$1" "$w" "$n"; done < /tmp/vbh/workloads
}

roundtrip() { # roundtrip MODE LOOP CPU: one benchmod loop; metrics per CPU, histogram on 0
  local mode=$1 loop=$2 cpu=$3 r it ns cyc name="rt_$1_$2_cpu$3" b
  if ! echo "$loop $rt_iters $cpu" > "$bm/run" 2>/dev/null; then
    fail "$name" "write to $bm/run refused"; return
  fi
  r=$(cat "$bm/result")
  it=$(kv iters "$r"); ns=$(kv ns "$r"); cyc=$(kv cycles "$r")
  if [ "$(kv errors "$r")" != 0 ] || [ "$it" != "$rt_iters" ]; then
    fail "$name" "$r"; return
  fi
  metric "rt.$mode.$loop.cpu$cpu" "$(div "$ns" "$it")" ns
  metric "rt.$mode.$loop.cpu$cpu.cycles" "$(div "$cyc" "$it")" cycles
  metric "rt.$mode.$loop.cpu$cpu.min" "$(kv min "$r")" cycles
  metric "rt.$mode.$loop.cpu$cpu.p50" "$(kv p50 "$r")" cycles
  metric "rt.$mode.$loop.cpu$cpu.p99" "$(kv p99 "$r")" cycles
  [ "$mode$loop$cpu" = barenop0 ] && metric tsc_khz "$(kv tsc_khz "$r")" kHz
  if [ "$cpu" = 0 ]; then
    for b in $(echo "$r" | sed -n 's/.*hist=//p' | tr ',' ' '); do
      metric "hist.$mode.$loop.cpu0.${b%%:*}" "${b#*:}" count
    done
  fi
  pass "$name" "$it iterations, $ns ns, $cyc cycles"
}

run_roundtrips() { # run_roundtrips MODE LOOP...
  local mode=$1 loop cpu
  shift
  [ -w "$bm/run" ] || { fail "rt_$mode" "benchmod is not loaded"; return; }
  for loop in "$@"; do
    cpu=0
    while [ $cpu -lt "$ncpu" ]; do roundtrip "$mode" "$loop" $cpu; cpu=$((cpu + 1)); done
  done
}

# busybox awk reads "0x..." strings as hex numbers (strtod); it has no strtonum.
ram_bytes() { # System RAM in /proc/iomem (inclusive hex ranges)
  awk '/: System RAM$/ { split($1, r, "-"); s += ("0x" r[2]) - ("0x" r[1]) + 1 }
       END { printf "%.0f\n", s }' /proc/iomem 2>/dev/null
}

hyp_bytes() { # sum of /sys/kernel/vbh/hyp_ranges: "START-END" (inclusive) or "START SIZE"
  [ -r "$sys/hyp_ranges" ] || return 0
  awk '{ n = split($0, f, /[^0-9a-fA-Fx]+/); k = 0
         for (i = 1; i <= n; i++) if (f[i] ~ /^(0x)?[0-9a-fA-F]+$/) v[++k] = f[i]
         if (k < 2) next
         a = (v[1] ~ /^0x/ ? v[1] : "0x" v[1]) + 0; b = (v[2] ~ /^0x/ ? v[2] : "0x" v[2]) + 0
         s += ($0 ~ /-/) ? b - a + 1 : b }
       END { printf "%.0f\n", s }' "$sys/hyp_ranges"
}

footprint() {
  local hyp ram
  ram=$(ram_bytes); hyp=$(hyp_bytes)
  if [ -z "$hyp" ] || [ "$hyp" = 0 ]; then fail bench_footprint "no $sys/hyp_ranges"; return; fi
  metric footprint.hyp "$hyp" B
  metric footprint.hyp_pct "$(div $((hyp * 100)) "$ram" %.3f)" %
  pass bench_footprint "hypervisor $hyp B of $ram B RAM"
}

launch_log_ms() { # the loader's own launch time: its first to its "sealed" kernel log line
  dmesg_since "$mark" | awk '/ vbh: / { t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t)
      if (first == "") first = t; if ($0 ~ /running and sealed/) { printf "%.3f\n", (t - first) * 1000; exit } }' |
    while read -r ms; do metric launch.loader_log "$ms" ms; done
}

launch() { # insmod vbh.ko, timed; returns 1 if the deprivileged half cannot run
  local out
  [ -r "$ko" ] || { fail bench_launch "$ko is not in the initramfs: deprivileged half skipped"; return 1; }
  info "bench: bare half done; launching vbh (insmod $ko)"
  # shellcheck disable=SC2046 # word splitting of the parameters is intended
  out=$($BENCH time insmod "$ko" $(param insmod_args | tr ',' ' ') 2>&1 | tail -n1)
  # shellcheck disable=SC2086 # split into fields
  set -- $out
  if [ "$1" != time ] || [ "$2" != 0 ]; then
    fail bench_launch "insmod vbh.ko failed ($out): deprivileged half skipped; $(dmesg | tail -n3)"
    return 1
  fi
  metric launch.insmod "$(div "$3" 1000000 %.3f)" ms
  launch_log_ms
  info "vbh status: $(cat "$sys/status" 2>/dev/null)"
  check_status bench_launch "$sys/status"
  [ "$(kv state "$(cat "$sys/status" 2>/dev/null)")" = running ]
}

[ -x "$BENCH" ] || { fail bench_binaries "vbh-bench is not in the initramfs"; exit 0; }
mark=$(dmesg_mark)
info "bench: $ncpu CPUs, $reps reps, scale $scale %, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
metric footprint.ram "$(ram_bytes)" B
check bench_benchmod insmod /lib/vbh/modules/benchmod.ko msr="$(param bench_msr 0xc0010114)"

run_roundtrips bare nop cpuid rdmsr
run_all_workloads bare
if launch; then
  sample_idle
  run_all_workloads depriv
  run_roundtrips depriv nop cpuid vmmcall rdmsr
  footprint
  check_status bench_still_running "$sys/status"
fi
dmesg_clean kernel_log_clean "$mark"
true
