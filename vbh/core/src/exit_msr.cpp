// MSR emulation policy; the why is in exit_msr.hpp.
#include <vbh/exit_msr.hpp>

namespace vbh {

MsrResult emulate_rdmsr(const VcpuState& v, std::uint32_t msr) {
    switch (msr) {
    case msr_efer: return {false, v.efer}; // only reached if a backend intercepts reads
    case msr_vm_cr: return {false, vm_cr_lock | vm_cr_svmdis};
    case msr_vm_hsave_pa: return {false, 0};
    default: return {true, 0};
    }
}

static MsrResult write_efer(VcpuState& v, std::uint64_t value) {
    // Reserved bits #GP (APM vol. 2 §3.1.7). The host runs in long mode with paging on,
    // where changing LME #GPs (§14.6.1); LMA is read-only and keeps its value.
    if ((value & ~efer_writable) != 0 || ((value ^ v.efer) & efer_lme) != 0)
        return {true, 0};
    v.efer = (value & ~efer_lma) | (v.efer & efer_lma) | efer_svme;
    return {false, 0};
}

MsrResult emulate_wrmsr(VcpuState& v, std::uint32_t msr, std::uint64_t value) {
    switch (msr) {
    case msr_efer: return write_efer(v, value);
    case msr_vm_hsave_pa: // SVM is reported disabled (VM_CR.SVMDIS): nothing to save
    case msr_vm_cr:       // locked (we report LOCK): writes #GP (APM vol. 2 §15.30.1)
    default: return {true, 0};
    }
}

} // namespace vbh
