// The MSRs vbh intercepts and how they are emulated (vendor-neutral policy).
//
//   EFER (C000_0080h) writes: the host keeps SVME = 1 at all times (AMD APM vol. 2
//     §15.4: clearing SVME in guest mode would leave the host unable to see SVM and,
//     in hardware, makes the next VMRUN fail); other bits follow the hardware's #GP
//     rules (APM vol. 2 §3.1.7: reserved bits, LME change while paging, LMA read-only).
//   VM_CR (C001_0114h): reads report LOCK | SVMDIS (APM vol. 2 §15.30.1) so the host's
//     kvm_amd refuses to load ("SVM disabled by BIOS") instead of running a nested
//     hypervisor vbh does not support; writes get #GP as on a locked VM_CR.
//   VM_HSAVE_PA (C001_0117h): the real register points at the hypervisor's save area
//     and must never be moved or revealed: reads return 0, writes #GP (with SVM
//     reported disabled the host has no use for it; threats.md #7).
//   Anything else that exits (MSRs outside the three MSRPM ranges always exit once
//     MSR_PROT is on, APM vol. 2 §15.11) gets #GP, as an unimplemented MSR does.
#pragma once

#include <vbh/vcpu.hpp>

#include <cstdint>

namespace vbh {

inline constexpr std::uint32_t msr_efer = 0xc0000080;
inline constexpr std::uint32_t msr_vm_cr = 0xc0010114;
inline constexpr std::uint32_t msr_vm_hsave_pa = 0xc0010117;

inline constexpr std::uint64_t vm_cr_lock = 1u << 3;
inline constexpr std::uint64_t vm_cr_svmdis = 1u << 4;

// EFER bits software may set (APM vol. 2 §3.1.7, Table 3-6 bits vbh passes through).
inline constexpr std::uint64_t efer_writable =
    efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme | efer_lmsle | efer_ffxsr | efer_tce;

struct MsrResult {
    bool gp;             // inject #GP(0), leave RIP
    std::uint64_t value; // for reads: what the guest gets
};

MsrResult emulate_rdmsr(const VcpuState& v, std::uint32_t msr);
MsrResult emulate_wrmsr(VcpuState& v, std::uint32_t msr, std::uint64_t value);

} // namespace vbh
