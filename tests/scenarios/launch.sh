# shellcheck shell=dash
# boot: --cpu EPYC,+svm,+npt
# Late launch: insmod vbh.ko deprivileges Linux on every CPU and Linux keeps working.
#   vbh.workload_secs=N   workload after the launch (default 60)
#   vbh.baseline_secs=N   same workload before the launch, for the overhead (default 10)
#   vbh.insmod_args=a=1,b=2   module parameters (commas become spaces)
ko=/lib/vbh/vbh.ko
sys=/sys/kernel/vbh
secs=$(param workload_secs 60)
base=$(param baseline_secs 10)

check cpu_has_svm cpu_has svm
check cpu_has_npt cpu_has npt
if [ ! -r "$ko" ]; then fail module_present "$ko is not in the initramfs"; exit 0; fi

if [ "$base" -gt 0 ]; then
  workload baseline "$base"
  base_rate=$WORKLOAD_RATE
fi

mark=$(dmesg_mark)
before=$(modules_now)
t0=$(now_ms)
# shellcheck disable=SC2046 # word splitting of the parameters is intended
if ! insmod "$ko" $(param insmod_args | tr ',' ' ') > /tmp/vbh/insmod.out 2>&1; then
  fail insmod "$(cat /tmp/vbh/insmod.out) | $(dmesg_since "$mark" | tail -n3)"
  dmesg_clean kernel_log_clean "$mark"
  exit 0
fi
metric insmod_ms $(($(now_ms) - t0)) ms
pass insmod "lsmod: $(modules_now)"
case " $(modules_now) " in *" vbh "*) pass module_listed "vbh" ;;
  *) fail module_listed "no vbh in lsmod: $(modules_now) (was: $before)" ;; esac
check_status status "$sys/status"
same backend svm "$(kv backend "$(cat "$sys/status" 2>/dev/null)")"
info "vbh status: $(cat "$sys/status" 2>/dev/null)"

if command -v vbhctl > /dev/null; then
  check vbhctl_version vbhctl version
  bad=
  for c in $(seq 0 $(($(online_cpus) - 1))); do
    taskset -c "$c" vbhctl version > /dev/null 2>&1 || bad="$bad $c"
  done
  if [ -z "$bad" ]; then pass vbhctl_every_cpu "vbhctl version ok on CPUs 0-$(($(online_cpus) - 1))"
  else fail vbhctl_every_cpu "vbhctl version failed on CPU(s)$bad"; fi
fi

e0=$(exit_count "$sys/stats")
workload workload "$secs"
e1=$(exit_count "$sys/stats")
if [ -n "$e0" ] && [ -n "$e1" ]; then
  metric exits_per_sec "$(ratio $((e1 - e0)) "$WORKLOAD_SECS")" exit/s
  metric exits_total "$e1" exits
else
  info "no exit counter in $sys/stats"
fi
# Coarse (TCG, shared host): a number to watch, not a check.
[ -n "${base_rate:-}" ] &&
  metric workload_slowdown_pct "$(awk -v b="$base_rate" -v r="$WORKLOAD_RATE" \
    'BEGIN { printf "%.1f\n", (b > 0 ? (b - r) * 100 / b : 0) }')" %

check_status status_after_workload "$sys/status"
dmesg_clean kernel_log_clean "$mark"
