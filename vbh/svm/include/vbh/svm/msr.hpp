// How the SVM backend emulates the MSR accesses its policy intercepts
// (msr_policy.hpp: which, and why; msrpm.cpp: the permission map).
//
//   EFER (C000_0080h): the CPU's EFER keeps SVME = 1 at all times (AMD APM vol. 2
//     §15.5.1: VMRUN fails on a guest EFER without it); the host reads and writes its
//     own SVME, kept per CPU (host_svm.hpp), so that kvm_amd can enable SVM and
//     disable it again. Other bits follow the hardware's #GP rules (exit_msr.hpp) over
//     the bits CPUID reports (MsrCaps::efer_writable), so no value VMRUN would reject
//     ever reaches the VMCB.
//   VM_CR (C001_0114h): the host's shadow (§15.30.1): unlocked and SVM enabled at
//     launch, LOCK and SVMDIS handled as the CPU does; never written to the CPU.
//   VM_HSAVE_PA (C001_0117h): the real register points at the hypervisor's save area
//     and must never be moved or revealed; the host reads back what it wrote (checked:
//     4 KiB aligned, below MAXPHYADDR), which vbh never uses (docs/threats.md #7).
//   APIC_BASE (1Bh): a write of the value the register holds is a no-op; any other
//     #GPs: moving the xAPIC page, switching x2APIC mode or disabling the APIC would
//     redirect the NMI kicks vbh sends with the base captured at launch.
//   DEBUGCTL (1D9h): BTF alone is written for the host; LBR and the PB bits would
//     record or expose the hypervisor's branches (DEBUGCTL is not swapped by VMRUN
//     without LBR virtualisation, §15.23).
//   PerfEvtSel (C001_0000h..3, C001_0200h even): written with GuestOnly set and
//     HostOnly clear (§13.2.1), so a counter never counts the hypervisor; PerfCtr of
//     the extended set: 48 bits. Both #GP where the CPU would, and the extended set
//     only exists with CPUID PerfCtrExtCore.
//   Anything else that exits gets the vendor-neutral default (exit_msr.hpp): #GP.
//
// The CPU's own MSRs are reached through Hw (Hw::read, Hw::write), so that the same
// code runs on target (CpuMsrs) and against a recording fake in tests/exit.
#pragma once

#include <vbh/exit_msr.hpp>
#include <vbh/svm/host_svm.hpp>
#include <vbh/svm/msr_policy.hpp>

#include <cstdint>

namespace vbh::svm {

// The RDMSRs that exit: the three emulated SVM registers; anything else exits only
// because it is outside the map's ranges and gets the default.
inline MsrResult emulate_rdmsr(const HostSvm& h, const VcpuState& v, std::uint32_t msr) {
    switch (msr) {
    case msr_efer: return {false, host_efer(h, v.efer)};
    case msr_vm_cr: return {false, h.vm_cr};
    case msr_vm_hsave_pa: return {false, h.hsave_pa};
    default: return default_rdmsr(v, msr);
    }
}

// PerfEvtSel and PerfCtr writes (see above): gp, or the value to write in `out`.
MsrResult perf_write_value(std::uint32_t msr, std::uint64_t value, const MsrCaps& caps,
                           std::uint64_t& out);

// A WRMSR that exits: one of the `emulate` rows of msr_policy.hpp, or refused. No table
// lookup on the way (the switch is the emulate rows; perf_write_value checks its
// ranges); EFER, the write the host makes on every CPU (boot, resume, kvm_amd), is
// tested first.
template <class Hw>
MsrResult emulate_wrmsr(HostSvm& h, VcpuState& v, std::uint32_t msr, std::uint64_t value,
                        const MsrCaps& caps) {
    if (msr == msr_efer) [[likely]]
        return write_host_efer(h, v, value, caps.efer_writable);
    switch (msr) {
    case msr_vm_cr: return write_host_vm_cr(h, value);
    case msr_vm_hsave_pa: return write_host_hsave(h, value, caps);
    case msr_apic_base: return {value != Hw::read(msr_apic_base), 0};
    case msr_debugctl:
        if ((value & ~debugctl_btf) != 0)
            return {true, 0};
        Hw::write(msr_debugctl, value);
        return {false, 0};
    default: {
        std::uint64_t out = 0;
        const MsrResult r = perf_write_value(msr, value, caps, out);
        if (!r.gp)
            Hw::write(msr, out);
        return r;
    }
    }
}

} // namespace vbh::svm
