# shellcheck shell=dash
# boot: --smp 2 --timeout 480 --append no_timer_check
# Exit overhead and footprint (docs/benchmarks.md). In ONE boot: every workload BARE,
# then insmod vbh.ko, then every workload again DEPRIVILEGED, so each ratio compares the
# same kernel, page cache and (as far as TCG allows) host load. Benchmarks never pass or
# fail on time: a VBH-CHECK here only says that a benchmark produced a number.
#   vbh.bench_reps=N        vbh-bench runs per workload and mode (5)
#   vbh.bench_scale=P       iteration counts in percent of vbh-bench's defaults (100)
#   vbh.bench_idle_secs=N   idle exit-rate sampling time (5)
#   vbh.bench_rt_iters=N    iterations of each benchmod round-trip loop (20000)
#   vbh.bench_gb_batch=N    calls per Google Benchmark round-trip repetition (100)
#   vbh.bench_gb_reps=N     repetitions of each Google Benchmark round trip (50)
#   vbh.bench_only=a,b      run only these workloads (default: all of `vbh-bench list`)
#   vbh.bench_msr=0xNNN     MSR for the rdmsr loop (0xc0010114, VM_CR: vbh intercepts it)
#   vbh.insmod_args=a=1,b=2 vbh.ko parameters (commas become spaces)
# vbh-bench (tests/guest-bench) is a Google Benchmark program: one run of a workload is
# many repetitions of one short batch each; every repetition's time is printed (JSON;
# gb_lines below). This scenario prints raw numbers only: the statistics (medians,
# percentiles, means, rates, ratios) are computed by tools/report/stats.py.
# Samples (VBH-SAMPLES, lib.sh) and metrics (report: tools/report/report.py):
#   samples wl.MODE.WORKLOAD.runR ns   ns per iteration of each repetition of run R
#                                (MODE = bare | depriv)
#   samples gb.MODE.OP ns        Google Benchmark round trips, ns per call of each
#                                repetition (OP = user_nop, user_cpuid, user_vmmcall,
#                                kernel_nop, kernel_cpuid, kernel_vmmcall, kernel_rdmsr,
#                                kernel_wrmsr_efer)
#   exitdelta.PHASE.cpuN exits, elapsed.PHASE ns   exits during PHASE (idle | WORKLOAD,
#                                deprivileged only) and its length
#   exitkind.PHASE.KIND exits    exits by reason during PHASE, all CPUs (KIND: loader/stats.c)
#   rt.MODE.LOOP.cpuN.iters|.total_ns|.total_cycles   benchmod round trips: the loop's
#                                totals; .min|.p50|.p99 cycles and hist.MODE.LOOP.cpu0.B
#                                (iterations with 2^B <= cycles < 2^(B+1)) are benchmod's
#                                own summary of its 20000 samples (that many numbers per
#                                loop would take minutes to cross the serial console)
#   tsc_khz kHz                  the guest kernel's TSC frequency (cycles -> ns)
#   hypcyc.KIND.cpuN.count|.cycles|.max exits|cycles   cycles vbh spent on exits of KIND
#                                (#VMEXIT to the next VMRUN; total and largest) over the
#                                whole boot, from $sys/exit_cycles
#   hypcyc_hist.KIND.cpuN.B count   exits with 2^B <= cycles < 2^(B+1)
#   launch.insmod ns             insmod wall time; launch.loader_log ms: first vbh: kernel log
#                                line to "running and sealed" (the loader's own timestamps)
#   footprint.hyp|ram|target B, footprint.part.PART B   (lib.sh footprint_report)
#   donate.P.iters|ns|p50|min|max, donate.iommu_units   GUEST_DONATE + GUEST_RECLAIM
#                                pairs of P frames with the IOMMU vbh owns (lib.sh
#                                donate_bench; issue 11)
ko=/lib/vbh/vbh.ko
sys=/sys/kernel/vbh
bm=/sys/kernel/benchmod
reps=$(param bench_reps 5)
scale=$(param bench_scale 100)
idle=$(param bench_idle_secs 5)
rt_iters=$(param bench_rt_iters 20000)
gb_batch=$(param bench_gb_batch 100)
gb_reps=$(param bench_gb_reps 50)
only=$(param bench_only "" | tr ',' ' ')
BENCH=$(command -v vbh-bench || echo /lib/vbh/bin/vbh-bench)
ncpu=$(online_cpus)

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

exit_counts() { # exit_counts PHASE BEFORE AFTER ELAPSED_NS: exits per CPU and by reason
  [ -s "$2" ] && [ -s "$3" ] || return 0
  metric "elapsed.$1" "$4" ns
  awk -v phase="$1" '
    FNR == NR { t0[$1] = $2; for (i = 3; i <= NF; i++) { split($i, kv, "="); k0[$1, kv[1]] = kv[2] }; next }
    ($1 in t0) {
      printf "exitdelta.%s.cpu%s %d\n", phase, $1, $2 - t0[$1]
      for (i = 3; i <= NF; i++) { split($i, kv, "="); by[kv[1]] += kv[2] - k0[$1, kv[1]] }
    }
    END { for (k in by) if (by[k] > 0) printf "exitkind.%s.%s %d\n", phase, substr(k, 6), by[k] }
  ' "$2" "$3" | while read -r name v; do metric "$name" "$v" exits; done
}

sample_idle() { # exits per second per CPU while nothing runs
  local t0
  stats_snapshot > /tmp/vbh/s0; t0=$($BENCH now)
  sleep "$idle"
  stats_snapshot > /tmp/vbh/s1
  exit_counts idle /tmp/vbh/s0 /tmp/vbh/s1 $(($($BENCH now) - t0))
}

workloads() { # workload names, filtered by vbh.bench_only
  $BENCH list | while read -r w _iters _batch; do
    [ -z "$only" ] || case " $only " in *" $w "*) ;; *) continue ;; esac
    echo "$w"
  done
}

gb_lines() { # Google Benchmark JSON on stdin -> "NAME sample NS" | "NAME error MESSAGE"
  # The JSON reporter writes one field per line; NAME is the benchmark's name without
  # the "/iterations:N/repeats:N" suffix. One sample per repetition (run_type
  # "iteration"); Google Benchmark's own aggregates are skipped. Errors repeat per
  # repetition: printed once.
  awk '
    function val(s) { sub(/^[^:]*: "?/, "", s); sub(/"?,?$/, "", s); return s }
    /^ *"run_name": / { n = val($0); sub(/\/.*/, "", n) }
    /^ *"run_type": / { k = val($0) }
    /^ *"error_message": / { e = val($0) }
    /^ *"real_time": / { t = val($0) }
    /^ *"time_unit": / { u = val($0) }
    /^ *}/ {
      if (n != "" && e != "") { if (!seen[n]++) print n, "error", e }
      else if (n != "" && k == "iteration" && u == "ns") printf "%s sample %.1f\n", n, t
      n = k = e = t = u = ""
    }'
}

gb_run() { # gb_run NAME ARGS...: vbh-bench ARGS as JSON into /tmp/vbh/gb.lines; 1 + fail NAME
  local name=$1 rc=0
  shift
  $BENCH --benchmark_format=json "$@" > /tmp/vbh/gb.json 2> /tmp/vbh/gb.err || rc=$?
  gb_lines < /tmp/vbh/gb.json > /tmp/vbh/gb.lines
  [ $rc = 0 ] && [ -s /tmp/vbh/gb.lines ] && return 0
  fail "$name" "vbh-bench exit $rc: $(grep ' error ' /tmp/vbh/gb.lines | head -n1) $(tail -c 300 /tmp/vbh/gb.err)"
  return 1
}

gb_samples() { awk -v n="$1" '$1 == n && $2 == "sample" { print $3 }' /tmp/vbh/gb.lines; }

run_workload() { # run_workload MODE NAME: reps runs of vbh-bench, one process each
  local mode=$1 w=$2 r=0 t0 n counts=''
  stats_snapshot > /tmp/vbh/s0; t0=$($BENCH now)
  while [ $r -lt "$reps" ]; do
    r=$((r + 1))
    gb_run "bench_${mode}_$w" --scale="$scale" --benchmark_filter="^$w/" || return
    n=$(gb_samples "$w" | grep -c .)
    if [ "$n" -eq 0 ]; then
      fail "bench_${mode}_$w" "run $r: no repetition of $w: $(head -c 200 /tmp/vbh/gb.lines)"
      return
    fi
    gb_samples "$w" | samples "wl.$mode.$w.run$r" ns
    counts="$counts $n"
  done
  stats_snapshot > /tmp/vbh/s1
  exit_counts "$w" /tmp/vbh/s0 /tmp/vbh/s1 $(($($BENCH now) - t0))
  pass "bench_${mode}_$w" "$r runs; repetitions per run:$counts"
}

run_all_workloads() { # run_all_workloads MODE
  workloads > /tmp/vbh/workloads
  while read -r w; do run_workload "$1" "$w"; done < /tmp/vbh/workloads
}

gb_roundtrips() { # gb_roundtrips MODE: the Google Benchmark round trips, pinned to CPU 0
  local mode=$1 op kind rest n
  gb_run "gb_$mode" --benchmark_filter='^(user|kernel)_' --rt_batch="$gb_batch" \
    --rt_reps="$gb_reps" || return
  awk '{ print $1 }' /tmp/vbh/gb.lines | uniq > /tmp/vbh/gb.ops
  while read -r op; do
    rest=$(awk -v n="$op" '$1 == n && $2 == "error" { $1 = $2 = ""; print; exit }' /tmp/vbh/gb.lines)
    if [ -n "$rest" ]; then
      # Bare, nothing answers VMMCALL: those two are expected to be skipped.
      case $mode.$op in
        bare.user_vmmcall|bare.kernel_vmmcall) kind=pass rest="skipped as expected:$rest" ;;
        *) kind=fail ;;
      esac
      result "$kind" "gb_${mode}_$op" "$rest"
      continue
    fi
    n=$(gb_samples "$op" | grep -c .)
    gb_samples "$op" | samples "gb.$mode.$op" ns
    pass "gb_${mode}_$op" "$n repetitions of $gb_batch calls"
  done < /tmp/vbh/gb.ops
}

hyp_cycles() { # the hypervisor's own time per exit, by kind, from $sys/exit_cycles
  # Format (loader/stats.c): cpu=C kind=KIND count=N cycles=SUM max=M hist=B:COUNT,...
  if [ ! -r "$sys/exit_cycles" ]; then
    info "bench: no $sys/exit_cycles in this vbh: hypervisor exit cycles n/a"; return
  fi
  awk '
    { cpu = kind = n = sum = max = hist = ""
      for (i = 1; i <= NF; i++) {
        k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v)
        if (k == "cpu") cpu = v; else if (k == "kind") kind = v; else if (k == "count") n = v
        else if (k == "cycles") sum = v; else if (k == "max") max = v; else if (k == "hist") hist = v
      }
      if (cpu == "" || kind == "" || n + 0 <= 0) next
      p = "hypcyc." kind ".cpu" cpu
      printf "%s.count %s exits\n%s.cycles %s cycles\n%s.max %s cycles\n", p, n, p, sum, p, max
      m = split(hist, b, ",")
      for (j = 1; j <= m; j++) if (split(b[j], bc, ":") == 2)
        printf "hypcyc_hist.%s.cpu%s.%s %s count\n", kind, cpu, bc[1], bc[2]
    }' "$sys/exit_cycles" > /tmp/vbh/hypcyc
  while read -r name v unit; do metric "$name" "$v" "$unit"; done < /tmp/vbh/hypcyc
  if [ -s /tmp/vbh/hypcyc ]; then
    pass bench_hypcyc "$(grep -c '\.count ' /tmp/vbh/hypcyc) (CPU, kind) lines in $sys/exit_cycles"
  else
    fail bench_hypcyc "$sys/exit_cycles has no parsable line: $(head -c 200 "$sys/exit_cycles")"
  fi
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
  metric "rt.$mode.$loop.cpu$cpu.iters" "$it" iterations
  metric "rt.$mode.$loop.cpu$cpu.total_ns" "$ns" ns
  metric "rt.$mode.$loop.cpu$cpu.total_cycles" "$cyc" cycles
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

footprint() { footprint_report bench_footprint; }  # lib.sh: metrics, parts, target

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
  metric launch.insmod "$3" ns
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

run_roundtrips bare nop cpuid rdmsr wrmsr_efer
gb_roundtrips bare
run_all_workloads bare
if launch; then
  sample_idle
  run_all_workloads depriv
  run_roundtrips depriv nop cpuid vmmcall rdmsr wrmsr_efer
  gb_roundtrips depriv
  hyp_cycles
  footprint
  donate_bench  # after hyp_cycles: its hypercalls stay out of the exit-cycle figures
  check_status bench_still_running "$sys/status"
fi
dmesg_clean kernel_log_clean "$mark"
true
