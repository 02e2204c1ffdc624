// A vCPU ready to enter the payload in 64-bit mode: its CPUID table, long-mode sregs,
// registers (entry point, stack, arguments) and a runnable MP state.
#pragma once

#include "kvm.hpp"

#include <cstdint>
#include <vector>

namespace vmm {

Result<void> setup_vcpu(Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported,
                        std::uint64_t cr3);

} // namespace vmm
