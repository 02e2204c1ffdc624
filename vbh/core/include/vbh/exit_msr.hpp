// MSR exits, the vendor-neutral half. A backend decides which MSRs it intercepts and
// emulates its own (AMD's VM_CR and VM_HSAVE_PA: svm/msr.hpp); what every backend
// shares is the result type, the architectural EFER write rules and the default for
// an MSR nobody emulates: #GP(0), as the CPU does for an unimplemented MSR (AMD APM
// vol. 2 §15.11: with MSR_PROT on, MSRs outside the permission map's ranges always
// exit; Intel SDM vol. 3 §25.1.3 likewise without MSR bitmaps).
#pragma once

#include <vbh/vcpu.hpp>

#include <cstdint>

namespace vbh {

struct MsrResult {
    bool gp;             // inject #GP(0), leave RIP
    std::uint64_t value; // for reads: what the guest gets
};

// A guest EFER write (APM vol. 2 §3.1.7): bits outside `writable` #GP; the host runs
// in long mode with paging on, where changing LME #GPs (§14.6.1); LMA is read-only
// and keeps its value.
inline MsrResult write_efer(VcpuState& v, std::uint64_t value, std::uint64_t writable) {
    if ((value & ~writable) != 0 || ((value ^ v.efer) & efer_lme) != 0)
        return {true, 0};
    v.efer = (value & ~efer_lma) | (v.efer & efer_lma);
    return {false, 0};
}

// The default for an intercepted MSR no backend rule claims: reads of EFER come from
// the guest's copy, everything else #GPs.
inline MsrResult default_rdmsr(const VcpuState& v, std::uint32_t msr) {
    if (msr == msr_efer)
        return {false, v.efer};
    return {true, 0};
}

} // namespace vbh
