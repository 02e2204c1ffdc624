# shellcheck shell=dash
# boot: --smp 2 --timeout 1200
# Issue 13's bench figures (docs/benchmarks.md, "Protected guests"): what a protected
# guest pays for the first touch of a private 4 KiB page, and for its work once the
# pages are mapped, against an ordinary guest of the same VMM, same memory size, same
# boot. vbh-vmm's touch benchmark (--touch-pages, docs/vmm.md) runs in both kinds of
# VM, first on the bare kernel, then on vbh. Packed by tests/protected-bench/run.sh:
# /lib/vbh/kvm/ holds Debian's irqbypass, ccp and kvm-amd modules and kvm-protected.ko
# (loader/kvm/build.sh). Nothing here passes or fails on time.
#   1. bare, kvm-protected.ko, kvm_amd npt=1: R rounds of an ordinary and a protected
#      run (upstream's software-protected VM: guest_memfd, no vbh domain);
#   2. vbh.ko, then the same modules on it: the same rounds. A protected VM is now a
#      vbh domain: each private page's first touch is KVM's fault, guest_memfd's
#      prepare, a GUEST_DONATE and vbh's shadow NPT fill. Around each run vbh's counters
#      are read three times: before, at the secret stage's sync point (the touch passes
#      are done, nothing is reclaimed yet: --ready-file) and after the VMM exited (its
#      teardown: guest_memfd's frames reclaimed and scrubbed, the domain destroyed).
#   vbh.touch_pages=N (1024)  vbh.touch_reps=R (3)
# Records (besides vmm_run's, lib.sh: vmm_touch_MODE_VM_R_touch_*):
#   win.touch_MODE_VM_R.PHASE.KEY N   vbh's counters during PHASE (run: start to the
#     sync point; exit: the sync point to the end), summed over CPUs: KEY = hc (hypercall
#     exits), hc_cycles (vbh's cycles in them, exit_cycles), npf, npf_cycles, fills
#     (l2_shadow_fills), drops (l2_shadow_drops), l2_exits, l2_reflected, exits
#     (total_exits); "%.0f", not "%d": busybox awk clips %d at 2^31 and cycles pass it
#   touch_pages, touch_reps; the kernel log's "domain N destroyed" lines as VBH-INFO
kd=/lib/vbh/kvm
ko=/lib/vbh/vbh.ko
pages=$(param touch_pages 1024)
reps=$(param touch_reps 3)
# One vCPU and no exit benchmark: the touch passes are the run. The secret stage comes
# with either VM kind (it picks the VM type) and holds at its sync point for the reads.
args="--vcpus 1 --iterations 0 --ticks 1 --touch-pages $pages"
metric touch_pages "$pages" pages
metric touch_reps "$reps" rounds
if [ ! -r "$kd/kvm-protected.ko" ]; then
  fail protected_bench_overlay "no $kd/kvm-protected.ko: boot with tests/protected-bench/run.sh"
  exit 0
fi
check cpu_has_svm cpu_has svm

kvm_load() { # kvm_load NAME: irqbypass, ccp, kvm-protected.ko, kvm-amd npt=1
  local m
  for m in irqbypass.ko ccp.ko kvm-protected.ko "kvm-amd.ko npt=1"; do
    # shellcheck disable=SC2086 # "module params" words
    insmod $kd/$m > /tmp/vbh/kvm.out 2>&1 ||
      { fail "$1" "insmod $m: $(cat /tmp/vbh/kvm.out) $(dmesg | tail -n3)"; return 1; }
  done
  pass "$1" "kvm-protected.ko kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt)"
}
kvm_unload() { # kvm_unload NAME
  local m
  for m in kvm_amd kvm ccp irqbypass; do
    rmmod "$m" > /tmp/vbh/kvm.out 2>&1 || { fail "$1" "rmmod $m: $(cat /tmp/vbh/kvm.out)"; return 1; }
  done
  pass "$1" "kvm_amd kvm ccp irqbypass"
}

counters() { # "KEY=N ..." of vbh's counters summed over CPUs (empty when bare)
  [ -r /sys/kernel/vbh/stats ] || return 0
  { cat /sys/kernel/vbh/stats; cat /sys/kernel/vbh/exit_cycles 2>/dev/null; } | awk '
    / kind=/ { k = ""; for (i = 1; i <= NF; i++) { split($i, a, "=")
                 if (a[1] == "kind") k = a[2]
                 else if (a[1] == "count") c[k] += a[2]
                 else if (a[1] == "cycles") y[k] += a[2] }
               next }
    { for (i = 1; i <= NF; i++) { split($i, a, "="); s[a[1]] += a[2] } }
    END { printf "hc=%.0f hc_cycles=%.0f npf=%.0f npf_cycles=%.0f fills=%.0f drops=%.0f l2_exits=%.0f l2_reflected=%.0f exits=%.0f\n",
            c["hypercall"], y["hypercall"], c["npf"], y["npf"], s["l2_shadow_fills"],
            s["l2_shadow_drops"], s["l2_exits"], s["l2_reflected"], s["total_exits"] }'
}
window() { # window LABEL PHASE BEFORE AFTER: win.LABEL.PHASE.KEY for each counter
  [ -n "$3" ] && [ -n "$4" ] || return 0
  echo "$3 $4" | awk -v n="win.$1.$2" '{ h = NF / 2
    for (i = 1; i <= h; i++) { split($i, a, "="); split($(i + h), b, "=")
      printf "%s.%s %.0f\n", n, a[1], b[2] - a[2] } }' |
    while read -r name v; do metric "$name" "$v" count; done
}

touch_run() { # touch_run LABEL VMKIND: one vbh-vmm run, vbh's counters around it
  local label=$1 ready=/tmp/vbh/ready go=/tmp/vbh/go c0 c1 c2 reader
  rm -f "$ready" "$go" /tmp/vbh/mid
  c0=$(counters)
  # The reader: at the sync point (the VMM creates $ready), read, then let it go on.
  ( while [ ! -e "$ready" ]; do sleep 0.05; done; counters > /tmp/vbh/mid; touch "$go" ) &
  reader=$!
  # shellcheck disable=SC2086
  vmm_run "$label" --$2 $args --ready-file "$ready" --hold-file "$go" --hold-secs 300
  [ -e "$ready" ] || kill "$reader" 2>/dev/null  # it never reached the sync point
  wait "$reader" 2>/dev/null
  c1=$(cat /tmp/vbh/mid); c2=$(counters)
  window "$label" run "$c0" "$c1"
  window "$label" exit "$c1" "$c2"
}

rounds() { # rounds MODE: R rounds of an ordinary then a protected run
  local r=1
  while [ $r -le "$reps" ]; do
    touch_run "touch_$1_ordinary_$r" unprotected
    touch_run "touch_$1_protected_$r" protected
    r=$((r + 1))
  done
}

# 1. Bare.
kvm_load kvm_load_bare || exit 0
rounds bare
kvm_unload kvm_unload_bare || exit 0

# 2. On vbh.
mark=$(dmesg_mark)
if ! insmod "$ko" > /tmp/vbh/insmod.out 2>&1; then
  fail vbh_launch "$(cat /tmp/vbh/insmod.out) $(dmesg | tail -n3)"
  exit 0
fi
check_status vbh_status /sys/kernel/vbh/status
kvm_load kvm_load_vbh || exit 0
rounds vbh
dmesg_since "$mark" | grep 'kvm: vbh: domain' | while read -r line; do info "$line"; done
n=$(dmesg_since "$mark" | grep -c 'kvm: vbh: domain .* destroyed')
if [ "$n" -eq "$reps" ]; then pass protected_domains "$n protected VMs were vbh domains, all destroyed"
else fail protected_domains "$n domain teardown lines, want $reps: $(dmesg_since "$mark" | grep 'kvm: vbh:' | tail -n3)"
fi
kvm_unload kvm_unload_vbh
dmesg_clean kernel_log_clean "$mark"
