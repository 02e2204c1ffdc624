// The CPUID table each vCPU gets (KVM_SET_CPUID2): what KVM supports on this host, with
// the hypervisor leaves replaced by the VMM's own (payload_abi.h: CPUID_VMM_*) and the
// initial APIC ID of leaf 1 set to the vCPU's index. KVM answers the guest's CPUID from
// this table in the kernel, so the payload reading these values back proves the table
// reached the vCPU it was set on.
#pragma once

#include <linux/kvm.h>

#include <vector>

namespace vmm {

std::vector<kvm_cpuid_entry2> vcpu_cpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                         unsigned vcpu);

} // namespace vmm
