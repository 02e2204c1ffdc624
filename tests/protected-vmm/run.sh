#!/usr/bin/env bash
# Boot the protected_vmm scenario (tests/scenarios/protected_vmm.sh): vbh-vmm's secret
# stage (docs/vmm.md, "--protected") on the bare kernel. A thin wrapper: boot.sh runs
# the scenario's prepare step (tests/protected-vm/prepare.sh: kvm.ko from
# loader/kvm/build.sh and the KVM modules in an overlay). Not part of CI.
#   tests/protected-vmm/run.sh [BOOT.SH ARGS...]
exec "$(cd "$(dirname "$0")/../.." && pwd)/qemu-nested/boot.sh" --scenario protected_vmm "$@"
