# shellcheck shell=dash
# boot: --smp 2 --timeout 600
# prepare: tests/protected-vm/prepare.sh
# vbh-vmm's secret stage (docs/vmm.md, "--protected") on the bare kernel. Its prepare
# step (boot.sh runs it; tests/protected-vmm/run.sh wraps boot.sh) packs /lib/vbh/kvm/:
# Debian's irqbypass, ccp, kvm and kvm-amd modules and kvm-protected.ko, a kvm.ko built
# with CONFIG_KVM_SW_PROTECTED_VM (loader/kvm/build.sh). No vbh.ko is loaded: this proves the demo and its checks; the
# run under vbh needs vbh's domain NPTs (issue 13).
#   1. Debian's kvm.ko: `vbh-vmm --protected` is refused (exit 3, KVM_CAP_VM_TYPES).
#   2. kvm-protected.ko, kvm_amd npt=1 (a protected VM needs the TDP MMU):
#      --protected: every check passes, the secret stays private;
#      --protected --scribble: the VMM overwrites its own mapping of the secret's slot
#        after the hold, and the secret is intact (it is in the guest_memfd);
#      --unprotected: the same stage in an ordinary VM passes;
#      --unprotected --scribble: the same write destroys the secret there, and exactly
#        protected.secret_intact fails (65536 of 65536 bytes): the check can fail.
kd=/lib/vbh/kvm
args="--vcpus 2 --iterations 0"
if [ ! -r "$kd/kvm-protected.ko" ]; then
  fail protected_vmm_overlay "no $kd/kvm-protected.ko: boot with qemu-nested/boot.sh (its prepare step)"
  exit 0
fi
check cpu_has_svm cpu_has svm

kvm_load() { # kvm_load KVM_KO NAME: irqbypass, ccp, KVM_KO, kvm-amd npt=1; a failed NAME if not
  local m
  for m in "$kd/irqbypass.ko" "$kd/ccp.ko" "$1" "$kd/kvm-amd.ko npt=1"; do
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

# 1. Debian's kvm.ko has no software-protected VMs: a clear refusal, exit 3.
if kvm_load "$kd/kvm.ko" kvm_stock_load; then
  # shellcheck disable=SC2086
  out=$(vbh-vmm --protected $args 2>&1); rc=$?
  echo "$out" | sed 's/^/vmm-stock: /'
  if [ $rc = 3 ] && echo "$out" | grep -q 'KVM_CAP_VM_TYPES.*without KVM_X86_SW_PROTECTED_VM'; then
    pass protected_refused_stock "exit 3: $(echo "$out" | cut -c1-120)"
  else
    fail protected_refused_stock "exit $rc: $(echo "$out" | head -n2)"
  fi
  kvm_unload kvm_stock_unload
fi

# 2. The rebuilt kvm.ko.
kvm_load "$kd/kvm-protected.ko" kvm_protected_load || exit 0
# shellcheck disable=SC2086
vmm_run protected --protected $args --hold-secs 1
# shellcheck disable=SC2086
vmm_run protected_scribble --protected $args --scribble
# shellcheck disable=SC2086
vmm_run unprotected --unprotected $args
# The baseline under attack: only the secret check may fail, by every byte.
# shellcheck disable=SC2086
out=$(vbh-vmm --unprotected $args --scribble 2>&1); rc=$?
echo "$out" | sed 's/^/vmm-unprotected_scribble: /'
failed=$(echo "$out" | awk '$1 == "check" && $3 == "fail" { print $2 }' | tr '\n' ' ')
if [ $rc = 1 ] && [ "$failed" = "protected.secret_intact " ] &&
   echo "$out" | grep -q '^check protected.secret_intact fail 65536 of 65536 bytes differ'; then
  pass protected_scribble_detected "unprotected VM: $(echo "$out" | grep '^check protected.secret_intact')"
else
  fail protected_scribble_detected "exit $rc, failed checks: ${failed:-none}"
fi
kvm_unload kvm_protected_unload
