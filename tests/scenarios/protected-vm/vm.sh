# shellcheck shell=dash
# protected-vm scenario, guest side: KVM's modules and one held vbh-vmm run
# (tests/scenarios/protected-vm.sh, docs/protected-vm.md "The protected-vm scenario").
# Sourced after qemu-nested/guest/lib.sh and containment-lib.sh.

KD=/lib/vbh/kvm
GO=/tmp/vbh/pvm.go

kvm_load() { # kvm_load KVM_KO NAME: irqbypass, ccp, KVM_KO, kvm-amd npt=1; a failed NAME if not
  local m
  for m in "$KD/irqbypass.ko" "$KD/ccp.ko" "$1" "$KD/kvm-amd.ko npt=1"; do
    # shellcheck disable=SC2086 # "module params" words
    insmod $m > /tmp/vbh/kvm.out 2>&1 ||
      { fail "$2" "insmod $m: $(cat /tmp/vbh/kvm.out) $(dmesg | tail -n3)"; return 1; }
  done
  pass "$2" "$(basename "$1") kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt)"
}
kvm_unload() { # kvm_unload NAME
  local m
  for m in kvm_amd kvm ccp irqbypass; do
    rmmod "$m" > /tmp/vbh/kvm.out 2>&1 || { fail "$1" "rmmod $m: $(cat /tmp/vbh/kvm.out)"; return 1; }
  done
  pass "$1" "kvm_amd kvm ccp irqbypass"
}

# vm_start LABEL ARGS...: vbh-vmm ARGS in the background, held at the secret's sync
# point until vm_release (at most 600 s). Waits for its protected_ready line (120 s)
# and sets VM_SEED, VM_PID, VM_HVA, VM_JOB; false (with a failed vm_LABEL check) if the
# guest never got there.
vm_start() {
  local label=$1 i line
  shift
  rm -f "$GO"
  VM_OUT=/tmp/vbh/vmm.$label
  vbh-vmm --vcpus 2 --iterations 0 --hold-file "$GO" --hold-secs 600 "$@" > "$VM_OUT" 2>&1 &
  VM_JOB=$!
  for i in $(seq 1 240); do
    line=$(grep '^info protected_ready ' "$VM_OUT")
    [ -n "$line" ] && break
    kill -0 "$VM_JOB" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$line" ]; then
    touch "$GO"; wait "$VM_JOB"
    fail "vm_$label" "no protected_ready line: $(tr '\n' ' ' < "$VM_OUT" | cut -c1-300)"
    return 1
  fi
  VM_SEED=$(kv seed "$line") VM_PID=$(kv pid "$line") VM_HVA=$(kv hva "$line")
  info "vm $label ready: $(echo "$line" | cut -d' ' -f3-)"
}

# vm_release LABEL: let the guest go on (re-check its secret), wait for vbh-vmm; its
# output as vmm-LABEL: lines, VM_RC its exit status, VM_FAILED its failed checks.
vm_release() {
  touch "$GO"
  wait "$VM_JOB"; VM_RC=$?
  sed "s/^/vmm-$1: /" "$VM_OUT"
  VM_FAILED=$(awk '$1 == "check" && $3 != "pass" { print $2 }' "$VM_OUT" | tr '\n' ' ')
}
vm_line() { grep "^$1" "$VM_OUT" | head -n1; } # vm_line PREFIX: a line of vbh-vmm's output

# vm_pfns: the frames behind the held VMM's guest_memfd (pages 0-15 of the secret slot),
# found by vbh_attack.ko in the VMM's file table (attack/protected.c); sets VM_PFNS.
vm_pfns() {
  VM_PFNS=$(atk gmem_pfns "$VM_PID" 0 16 | sed -n 's/^page=[0-9]* pfn=//p' | tr '\n' ' ')
}
first_word() { set -- $1; echo "$1"; } # first_word LIST
