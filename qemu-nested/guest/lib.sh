# shellcheck shell=dash disable=SC2020
# Helpers sourced by every guest scenario (busybox ash). The serial-console protocol
# that qemu-nested/boot.sh parses, one record per line:
#   VBH-CHECK <name> <pass|fail> <detail...>
#   VBH-METRIC <name> <value> <unit>
#   VBH-SAMPLES <name> <unit> <value>...  raw samples; several lines of one name add up
#                                       (the host computes the statistics: tools/report)
#   VBH-INFO <text...>
#   VBH-DONE <passed> <failed>          (printed once by /init at the end)
# Names are single words. Each result is also appended to $VBH_RESULTS for /init.

VBH_RESULTS=${VBH_RESULTS:-/tmp/vbh/results}
VBH_LIB=${VBH_LIB:-/lib/vbh}
# Kernel log lines that mean something went wrong, whatever the scenario.
VBH_DMESG_BAD='Oops|BUG:|general protection|WARNING:|Call Trace|soft lockup|hard LOCKUP|rcu.*stall|Kernel panic|segfault|invalid opcode|double fault'
# Scenarios may set VBH_DMESG_ALLOW to an ERE of bad-looking lines they expect.
VBH_DMESG_ALLOW=${VBH_DMESG_ALLOW:-}

_oneline() { # squeeze text into one short protocol-safe line
  tr '\n\r\t' '   ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-200
}

result() { # result pass|fail NAME DETAIL...
  local r=$1 name=$2; shift 2
  echo "VBH-CHECK $name $r $(echo "$*" | _oneline)"
  echo "$r $name" >> "$VBH_RESULTS"
}
pass() { result pass "$@"; }   # pass NAME DETAIL...
fail() { result fail "$@"; }   # fail NAME DETAIL...

check() { # check NAME CMD...: pass if CMD exits 0; its output becomes the detail
  local name=$1 out; shift
  if out=$("$@" 2>&1); then pass "$name" "$out"; else fail "$name" "(exit $?) $out"; fi
}

metric() { echo "VBH-METRIC $1 $2 $3"; }   # metric NAME VALUE UNIT
samples() { # samples NAME UNIT < values (whitespace separated): VBH-SAMPLES lines of 16
  # values, short enough that a kernel message rarely splits one
  tr -s ' \t' '\n\n' | grep . | awk -v p="VBH-SAMPLES $1 $2" '
    { l = l " " $1 } NR % 16 == 0 { print p l; l = "" } END { if (l != "") print p l }'
}
info() { echo "VBH-INFO $*"; }

param() { # param NAME [DEFAULT]: value of vbh.NAME=... on the kernel command line
  local v=$2 w line
  read -r line < /proc/cmdline
  for w in $line; do
    case $w in "vbh.$1="*) v=${w#*=} ;; esac
  done
  echo "$v"
}

kv() { # kv KEY TEXT: value of KEY=V or "KEY: V" in loosely formatted TEXT
  echo "$2" | sed 's/: */=/g' | tr ' ,;\t' '\n\n\n\n' | sed -n "s/^$1=//p" | head -n1
}

ratio() { # ratio A B [FORMAT]: A / B as a decimal (0 if B is 0)
  awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { printf f "\n", (b != 0 ? a / b : 0) }'
}

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }  # since boot, 10 ms steps

online_cpus() { grep -c '^processor' /proc/cpuinfo; }

cpu_has() { grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -qx "$1"; }

dmesg_mark() { # timestamp of the newest kernel log record, for dmesg_since
  dmesg | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p' | tail -n1
}

dmesg_since() { # dmesg_since [MARK]: kernel log records newer than MARK (default: all)
  dmesg | awk -v m="${1:--1}" '
    /^\[ *[0-9.]+\]/ { t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t); on = (t + 0 > m + 0) }
    on { print }'
}

expect_dmesg() { # expect_dmesg NAME ERE [MARK]: the log since MARK has a matching line
  local hit
  hit=$(dmesg_since "${3:--1}" | grep -E -m1 "$2")
  if [ -n "$hit" ]; then pass "$1" "$hit"; else fail "$1" "no kernel log line matches /$2/"; fi
}

dmesg_clean() { # dmesg_clean NAME MARK: no oops/BUG/WARN/stall since MARK (minus allowed)
  local bad
  bad=$(dmesg_since "$2" | grep -E "$VBH_DMESG_BAD")
  [ -n "$VBH_DMESG_ALLOW" ] && bad=$(echo "$bad" | grep -v -E "$VBH_DMESG_ALLOW")
  if [ -z "$bad" ]; then pass "$1" "no oops/BUG/WARNING/stall in the kernel log"
  else fail "$1" "$(echo "$bad" | head -n3)"; fi
}

check_status() { # check_status NAME FILE: "state=running cpus=N/N", N = online CPUs
  local s cpus n
  if [ ! -r "$2" ]; then fail "$1" "$2 missing"; return; fi
  s=$(cat "$2"); cpus=$(kv cpus "$s"); n=$(online_cpus)
  if [ "$(kv state "$s")" = running ] && [ "$cpus" = "$n/$n" ]; then pass "$1" "$s"
  else fail "$1" "want state=running cpus=$n/$n, got: $s"; fi
}

modules_now() { lsmod | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' '; }
# insmod_refused KO NAME ERE MARK: insmod of KO fails (check insmod_refused), the kernel
# log since MARK has a line matching ERE (check NAME: the refusal says why), and the
# machine is as it was: module list unchanged, no vbh module.
insmod_refused() {
  local ko=$1 name=$2 ere=$3 mark=$4 before
  before=$(modules_now)
  if insmod "$ko" > /tmp/vbh/insmod.out 2>&1; then
    fail insmod_refused "insmod succeeded: $(cat /tmp/vbh/insmod.out)"
  else
    pass insmod_refused "$(cat /tmp/vbh/insmod.out)"
  fi
  expect_dmesg "$name" "$ere" "$mark"
  same lsmod_unchanged "$before" "$(modules_now)"
  check no_vbh_module test ! -e /sys/module/vbh
}

_worker() { # _worker CPU END_EPOCH OUT: exec/fork, tmpfs I/O and hashing until END
  local i=0 f=/tmp/vbh/work.$1
  while :; do  # at least one iteration, however slow the host
    /bin/busybox true
    dd if=/dev/zero of="$f" bs=64k count=16 2>/dev/null
    md5sum "$f" > /dev/null
    cat /proc/interrupts /proc/meminfo > /dev/null
    i=$((i + 1))
    [ "$(date +%s)" -lt "$2" ] || break
  done
  rm -f "$f"
  echo "$i" > "$3"
}

workload() { # workload NAME SECS: one pinned worker per online CPU; checks all finish.
  # Sets WORKLOAD_SECS (wall time) and WORKLOAD_RATE (iterations/s, all CPUs, decimal).
  local n end t0 took c=0 total=0 done=0 f
  n=$(online_cpus) t0=$(date +%s)
  end=$((t0 + $2))
  rm -f /tmp/vbh/iters.*
  while [ $c -lt "$n" ]; do
    taskset -c "$c" sh -c ". $VBH_LIB/lib.sh; _worker $c $end /tmp/vbh/iters.$c" &
    c=$((c + 1))
  done
  wait
  took=$(($(date +%s) - t0))
  for f in /tmp/vbh/iters.*; do
    [ -s "$f" ] || continue
    done=$((done + 1)); total=$((total + $(cat "$f")))
  done
  if [ "$done" = "$n" ] && [ "$total" -gt 0 ] && [ "$took" -le $(($2 + 30)) ]; then
    pass "$1" "$n CPUs, $total iterations in $took s"
  else
    fail "$1" "$done/$n workers finished, $total iterations in $took s (budget $2 s)"
  fi
  # shellcheck disable=SC2034 # read by the scenarios
  WORKLOAD_SECS=$took
  WORKLOAD_RATE=$(ratio "$total" "$took")
  metric "$1_iters_per_sec" "$WORKLOAD_RATE" iter/s
}

exit_count() { # exit_count FILE: total VM exits in a loosely formatted stats file
  # Sums keys named exits/total/total_exits/exits_total (one total, or one per CPU); if there
  # are none, sums per-reason keys exit_*/exits_*. Empty when FILE has no such key.
  [ -r "$1" ] || return 0
  sed 's/: */=/g' "$1" | tr ' ,;\t' '\n\n\n\n' | awk -F= '
    $2 ~ /^[0-9]+$/ && $1 ~ /^(exits|total|total_exits|exits_total)$/ { tot += $2; nt++ }
    $2 ~ /^[0-9]+$/ && $1 ~ /^exits?_/ { part += $2; np++ }
    END { if (nt) print tot; else if (np) print part }'
}

same() { # same NAME WANT GOT: pass if the two strings are equal
  if [ "$2" = "$3" ]; then pass "$1" "$3"; else fail "$1" "want '$2', got '$3'"; fi
}

vmm_run() { # vmm_run LABEL [ARGS...]: run vbh-vmm (tools/vmm, docs/vmm.md) with ARGS.
  # Its output goes to the console as "vmm-LABEL: ..." lines; then VBH-CHECK vmm_LABEL
  # (all its checks passed), one failing VBH-CHECK vmm_LABEL_<check> per check that
  # failed, VBH-METRIC vmm_LABEL_<metric> per figure (and _wall_ms: the whole run), its
  # "error" lines (how a vCPU ended: exit reason, registers, stage) as VBH-INFO. Any
  # LABEL but "bare" is also compared with an earlier "bare" run of the same boot:
  # vmm_LABEL_same_as_bare passes if every check has the same result and value
  # (figures are not compared).
  local label=$1 out rc sum first t0 cut='(none)'; shift
  t0=$(now_ms)
  out=$(vbh-vmm "$@" 2>&1); rc=$?
  metric "vmm_${label}_wall_ms" $(($(now_ms) - t0)) ms
  echo "$out" | sed "s/^/vmm-$label: /"
  # A vCPU that did not finish (an "error" line) reported nothing after where it
  # stopped: those "not reported" checks are its consequence, not separate failures.
  echo "$out" | grep -q '^error ' && cut='not reported'
  echo "$out" | while read -r kind name rest; do
    case $kind in
      check) [ "${rest%% *}" = pass ] || [ "${rest#* }" = "$cut" ] ||
               fail "vmm_${label}_$name" "${rest#* }" ;;
      metric) metric "vmm_${label}_$name" "${rest%% *}" "${rest#* }" ;;  # VALUE UNIT
      error) info "vmm_$label: $name $rest" ;;
    esac
  done
  sum=$(echo "$out" | sed -n 's/^summary //p')
  first=$(echo "$out" | grep -m1 -E '^error |^vbh-vmm: ')
  if [ $rc -eq 0 ]; then pass "vmm_$label" "$sum"
  else fail "vmm_$label" "exit $rc${sum:+, $sum}${first:+: $first}"; fi
  echo "$out" | grep '^check ' | cut -d' ' -f2- > "/tmp/vbh/vmm-$label.checks"
  if [ "$label" != bare ] && [ -s /tmp/vbh/vmm-bare.checks ]; then
    if cmp -s /tmp/vbh/vmm-bare.checks "/tmp/vbh/vmm-$label.checks"; then
      pass "vmm_${label}_same_as_bare" "$(wc -l < /tmp/vbh/vmm-bare.checks) checks"
    else
      fail "vmm_${label}_same_as_bare" "$(diff /tmp/vbh/vmm-bare.checks "/tmp/vbh/vmm-$label.checks" | grep '^[-+][^-+]' | head -n4)"
    fi
  fi
}

# Hypervisor memory (issue 15, docs/benchmarks.md "Launch and footprint"). busybox awk
# reads "0x..." strings as hex numbers (strtod); it has no strtonum.
ram_bytes() { # System RAM in /proc/iomem (inclusive hex ranges)
  awk '/: System RAM$/ { split($1, r, "-"); s += ("0x" r[2]) - ("0x" r[1]) + 1 }
       END { printf "%.0f\n", s }' /proc/iomem 2>/dev/null
}

hyp_bytes() { # sum of /sys/kernel/vbh/hyp_ranges: "START-END" (inclusive) or "START SIZE"
  [ -r /sys/kernel/vbh/hyp_ranges ] || return 0
  awk '{ n = split($0, f, /[^0-9a-fA-Fx]+/); k = 0
         for (i = 1; i <= n; i++) if (f[i] ~ /^(0x)?[0-9a-fA-F]+$/) v[++k] = f[i]
         if (k < 2) next
         a = (v[1] ~ /^0x/ ? v[1] : "0x" v[1]) + 0; b = (v[2] ~ /^0x/ ? v[2] : "0x" v[2]) + 0
         s += ($0 ~ /-/) ? b - a + 1 : b }
       END { printf "%.0f\n", s }' /sys/kernel/vbh/hyp_ranges
}

# footprint_report NAME: metrics footprint.hyp (sum of hyp_ranges), footprint.ram,
# footprint.target (8 MiB + 0.2 % of RAM, issue 15) and footprint.part.PART per part of
# /sys/kernel/vbh/footprint (B); NAME passes when the parts add up to hyp_ranges and the
# total is within the target.
footprint_report() {
  local name=$1 ram hyp target sum=0 part bytes
  ram=$(ram_bytes); hyp=$(hyp_bytes)
  if [ -z "$hyp" ] || [ "$hyp" = 0 ]; then fail "$name" "no /sys/kernel/vbh/hyp_ranges"; return; fi
  target=$(awk -v r="$ram" 'BEGIN { printf "%.0f\n", 8 * 1048576 + r * 0.002 }')
  metric footprint.hyp "$hyp" B
  metric footprint.ram "$ram" B
  metric footprint.target "$target" B
  [ -r /sys/kernel/vbh/footprint ] || { fail "$name" "no /sys/kernel/vbh/footprint"; return; }
  while read -r part bytes; do
    case $part in total|ram) continue ;; esac
    metric "footprint.part.$part" "$bytes" B
    sum=$((sum + bytes))
  done < /sys/kernel/vbh/footprint
  if [ "$sum" != "$hyp" ]; then
    fail "$name" "parts add up to $sum B, hyp_ranges to $hyp B"
  elif [ "$hyp" -gt "$target" ]; then
    fail "$name" "hypervisor $hyp B of $ram B RAM, above the target $target B"
  else
    pass "$name" "hypervisor $hyp B of $ram B RAM, target $target B"
  fi
}

# donate_bench: issue 11's donate + scrub rate (docs/benchmarks.md, "Donate and scrub"):
# donatebench.ko's GUEST_DONATE + GUEST_RECLAIM pairs of 1 frame (vbh.donate_iters,
# 2000) and of 512 frames, one 2 MiB leaf (vbh.donate_iters_2m, 100), through vbh as
# launched; the IOMMU units it owns are its status's iommu= (vtd:N, amdvi:N or none).
# Metrics donate.P.iters|ns|p50|min|max (P = frames; ns: the whole loop, the others
# cycles per pair) and donate.iommu_units; a check donate_P passes when every call
# succeeded and the frames read back scrubbed.
donate_bench() {
  local m iommu spec p r k u
  m=$(find /lib/vbh/modules -name donatebench.ko | head -n1)
  if [ -z "$m" ] || ! insmod "$m" > /tmp/vbh/donate.out 2>&1; then
    fail donate_bench "donatebench.ko: ${m:-not in the initramfs} $(cat /tmp/vbh/donate.out 2>/dev/null)"
    return
  fi
  # Not kv: it reads "vtd:1" as a "key: value" pair.
  iommu=$(sed -n 's/.*iommu=\([^ ]*\).*/\1/p' /sys/kernel/vbh/status 2>/dev/null)
  info "donate_bench: iommu=${iommu:-?}"
  case $iommu in *:*) metric donate.iommu_units "${iommu#*:}" units ;;
    none) metric donate.iommu_units 0 units ;; esac
  for spec in "1 $(param donate_iters 2000)" "512 $(param donate_iters_2m 100)"; do
    p=${spec% *}
    if ! echo "$spec" > /sys/kernel/donatebench/run 2>/tmp/vbh/donate.out; then
      fail "donate_$p" "write refused: $(cat /tmp/vbh/donate.out)"; continue
    fi
    r=$(cat /sys/kernel/donatebench/result)
    if [ "$(kv status "$r")" != ok ] || [ "$(kv scrubbed "$r")" != 1 ] || [ "$(kv iters "$r")" != "${spec#* }" ]; then
      fail "donate_$p" "$r"; continue
    fi
    for k in iters ns p50 min max; do
      case $k in iters) u=pairs ;; ns) u=ns ;; *) u=cycles ;; esac
      metric "donate.$p.$k" "$(kv "$k" "$r")" "$u"
    done
    metric tsc_khz "$(kv tsc_khz "$r")" kHz
    pass "donate_$p" "iommu=$iommu: $r"
  done
  rmmod donatebench
}
