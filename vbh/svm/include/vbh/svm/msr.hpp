// The MSRs the SVM backend intercepts (msrpm.cpp) and how it emulates them.
//
//   EFER (C000_0080h) writes: the host keeps SVME = 1 at all times (AMD APM vol. 2
//     §15.4: clearing SVME in guest mode would leave the host unable to see SVM and,
//     in hardware, makes the next VMRUN fail); other bits follow the hardware's #GP
//     rules (exit_msr.hpp).
//   VM_CR (C001_0114h): reads report LOCK | SVMDIS (APM vol. 2 §15.30.1) so the host's
//     kvm_amd refuses to load ("SVM disabled by BIOS") instead of running a nested
//     hypervisor vbh does not support; writes get #GP as on a locked VM_CR.
//   VM_HSAVE_PA (C001_0117h): the real register points at the hypervisor's save area
//     and must never be moved or revealed: reads return 0, writes #GP (with SVM
//     reported disabled the host has no use for it; docs/threats.md #7).
//   Anything else that exits gets the vendor-neutral default (exit_msr.hpp).
#pragma once

#include <vbh/exit_msr.hpp>

#include <cstdint>

namespace vbh::svm {

inline constexpr std::uint64_t vm_cr_lock = 1u << 3;
inline constexpr std::uint64_t vm_cr_svmdis = 1u << 4;

// EFER bits an AMD guest may set (APM vol. 2 §3.1.7, table 3-6).
inline constexpr std::uint64_t efer_writable =
    efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme | efer_lmsle | efer_ffxsr | efer_tce;

MsrResult emulate_rdmsr(const VcpuState& v, std::uint32_t msr);
MsrResult emulate_wrmsr(VcpuState& v, std::uint32_t msr, std::uint64_t value);

} // namespace vbh::svm
