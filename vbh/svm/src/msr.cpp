// SVM MSR emulation; the why is in svm/msr.hpp.
#include <vbh/svm/msr.hpp>

namespace vbh::svm {

MsrResult emulate_rdmsr(const VcpuState& v, std::uint32_t msr) {
    switch (msr) {
    case msr_vm_cr: return {false, vm_cr_lock | vm_cr_svmdis};
    case msr_vm_hsave_pa: return {false, 0};
    default: return default_rdmsr(v, msr);
    }
}

MsrResult emulate_wrmsr(VcpuState& v, std::uint32_t msr, std::uint64_t value) {
    switch (msr) {
    case msr_efer: return write_efer(v, value | efer_svme, efer_writable); // SVME stays 1
    case msr_vm_hsave_pa: // SVM is reported disabled (VM_CR.SVMDIS): nothing to save
    case msr_vm_cr:       // locked (we report LOCK): writes #GP (APM vol. 2 §15.30.1)
    default: return {true, 0};
    }
}

} // namespace vbh::svm
