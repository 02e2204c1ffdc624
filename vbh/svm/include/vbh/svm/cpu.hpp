// The SVM backend's per-CPU state: the control blocks this CPU runs and the physical
// pages VMRUN and VMLOAD/VMSAVE use (AMD APM vol. 2 §15.5, §15.30.4). Lives in the
// image's per-CPU block (image/percpu.hpp) as Backend::Cpu and Backend::Pages.
#pragma once

#include <vbh/svm/host_svm.hpp>
#include <vbh/svm/vmcb.hpp>

#include <cstdint>

namespace vbh::svm {

// A VMCB and its physical address (VMRUN, VMLOAD and VMSAVE take the address in rax).
struct ControlBlock {
    Vmcb* vmcb;
    std::uint64_t pa;
};

// The pages a CPU needs: the deprivileged host's VMCB; the hypervisor's own
// VMLOAD/VMSAVE area (FS, GS, TR, LDTR, KernelGsBase, syscall/sysenter MSRs, §15.5.2);
// the host save area VM_HSAVE_PA points at, which only the CPU writes (§15.30.4).
struct Pages {
    Vmcb host_guest;
    Vmcb hyp_state;
    alignas(4096) std::uint8_t hsave[4096];
};
static_assert(sizeof(Pages) == 3 * 4096);

// `active` is the block the next VMRUN enters, held by value so that the exit path
// reaches the VMCB with one load. Today it is always `l1`, the deprivileged host;
// nested SVM adds the block built for the host's L2 guest here and switches `active`
// between the two (docs/architecture.md).
struct Cpu {
    ControlBlock l1;
    ControlBlock active;
    std::uint64_t hyp_state_pa;
    std::uint64_t hsave_pa;
    std::uint64_t kernel_hsave;     // the kernel's VM_HSAVE_PA before launch (rollback)
    HostSvm host;                   // the host's own EFER.SVME, VM_CR, VM_HSAVE_PA, GIF
};

} // namespace vbh::svm
