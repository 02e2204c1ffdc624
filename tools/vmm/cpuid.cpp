#include "cpuid.hpp"

#include "payload_abi.h"


namespace vmm {

std::vector<kvm_cpuid_entry2> vcpu_cpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                         unsigned vcpu) {
    std::vector<kvm_cpuid_entry2> t;
    for (const auto& e : supported) {
        // KVM offers its own paravirtual leaves at 0x40000000 ("KVMKVMKVM"); the VMM's
        // replace the whole hypervisor range.
        if ((e.function & 0xF0000000u) == 0x40000000u) continue;
        t.push_back(e);
        if (e.function == 1) t.back().ebx = (t.back().ebx & 0x00FFFFFFu) | (vcpu << 24);
    }
    kvm_cpuid_entry2 base{};
    base.function = CPUID_VMM_BASE;
    base.eax = CPUID_VMM_VCPU;
    base.ebx = CPUID_SIG_EBX;
    base.ecx = CPUID_SIG_ECX;
    base.edx = CPUID_SIG_EDX;
    kvm_cpuid_entry2 id{};
    id.function = CPUID_VMM_VCPU;
    id.eax = CPUID_VCPU_MAGIC | vcpu;
    t.push_back(base);
    t.push_back(id);
    return t;
}

} // namespace vmm
