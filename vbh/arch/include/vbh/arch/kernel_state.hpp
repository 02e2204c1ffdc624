// The running kernel's CPU state that a late launch replaces and a rollback puts back:
// control and debug registers, descriptor tables, segment selectors, EFER. Captured
// once per launch before anything changes (launch.cpp), read by the backend to build
// the host's control block, and loaded again by a rollback (AMD APM vol. 2 §15.5.1;
// Intel SDM vol. 3 §27.3 for the same state on VMX).
#pragma once

#include <vbh/arch/cpu.hpp>
#include <vbh/arch/desc.hpp>

#include <cstdint>

namespace vbh::arch {

struct KernelState {
    std::uint64_t cr0, cr2, cr3, cr4, dr7, efer;
    DescPtr gdtr;
    DescPtr idtr;
    std::uint16_t cs, ss, ds, es;
};

inline KernelState capture_kernel_state() {
    return KernelState{read_cr0(), read_cr2(), read_cr3(), read_cr4(), read_dr7(),
                       rdmsr(msr_efer), sgdt(), sidt(), read_cs(), read_ss(), read_ds(),
                       read_es()};
}

// CR4 first (PCIDE may only be set with CR3[11:0] = 0, true of the hypervisor's CR3),
// then CR3: from here on the kernel's tables translate. CS/SS, FS/GS/TR and EFER are
// the caller's business (a far return, the backend's state reload, the last WRMSR).
inline void load_kernel_state(const KernelState& k) {
    write_cr4(k.cr4);
    write_cr3(k.cr3);
    write_cr0(k.cr0);
    write_cr2(k.cr2);
    asm volatile("mov %0, %%dr7" ::"r"(k.dr7));
    lgdt(k.gdtr);
    lidt(k.idtr);
    asm volatile("mov %0, %%ds; mov %1, %%es" ::"r"(k.ds), "r"(k.es));
}

} // namespace vbh::arch
