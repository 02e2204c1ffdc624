// The SVM backend's per-CPU state: the control blocks this CPU runs and the physical
// pages VMRUN and VMLOAD/VMSAVE use (AMD APM vol. 2 §15.5, §15.30.4). Lives in the
// image's per-CPU block (image/percpu.hpp) as Backend::Cpu and Backend::Pages.
#pragma once

#include <vbh/svm/host_svm.hpp>
#include <vbh/svm/nested.hpp>
#include <vbh/svm/nested_asid.hpp>
#include <vbh/svm/shadow_npt.hpp>
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
// Nested SVM (nested_run.hpp) adds the L2 block vbh runs for the host's guest, the
// copy of the host's VMCB12 every check reads, and copies of the host's permission
// maps (which decide whose an L2 exit is). The merged maps the L2 block points at
// must be physically contiguous: Svm::setup() allocates them apart.
struct Pages {
    Vmcb host_guest;
    Vmcb hyp_state;
    alignas(4096) std::uint8_t hsave[4096];
    Vmcb l2;
    Vmcb v12;
    alignas(4096) std::uint8_t host_msrpm[msrpm_bytes];
    alignas(4096) std::uint8_t host_iopm[iopm_bytes];
};
static_assert(sizeof(Pages) == 10 * 4096);

// A CPU's nested-SVM state: the L2 block and where the host's VMCB12 is while its
// guest runs, the maps, and the host-ASID to vbh-ASID table.
struct NestedCpu {
    ControlBlock l2;            // Pages::l2
    Vmcb* v12;                  // Pages::v12: the host's VMCB12 as read at its VMRUN
    std::uint64_t v12_pa;       // the host's VMCB12 page
    std::uint8_t* msrpm;        // merged maps the L2 block runs with (contiguous)
    std::uint64_t msrpm_pa;
    std::uint8_t* iopm;
    std::uint64_t iopm_pa;
    std::uint8_t* host_msrpm;   // Pages::host_msrpm / host_iopm
    std::uint8_t* host_iopm;
    HostMaps maps;              // the copies the host enabled, else null
    std::uint64_t npt_root;     // the L2's nested page table: the host NPT (npt=0)
    ShadowNpt shadow;           // ... or this shadow of the host's own (npt=1)
    std::uint64_t* shadow_pool; // its pages (shadow_pool_pages, contiguous), or null
    std::uint64_t shadow_pool_pa;
    bool np;                    // the running L2's host asked for nested paging
    NptWalkCaps walk;           // how KVM's table is walked (set at its VMRUN)
    AsidMap asids;
    bool ready;                 // setup() found the memory and an ASID
    bool used;                  // an L2 ran here: stage-2 flushes cover every ASID
    std::uint64_t state_drops;  // host SVME clears that dropped state (nested_state.hpp)
    std::uint32_t pstate;       // the protected vCPU record the L2 runs under + 1, or 0
    std::uint16_t pstate_dom;   // ... and its domain (pstate_run.hpp)
};

// `active` is the block the next VMRUN enters, held by value so that the exit path
// reaches the VMCB with one load: `l1`, the deprivileged host, or `nested.l2` while
// the host's guest runs (nested_run.hpp switches it).
struct Cpu {
    ControlBlock l1;
    ControlBlock active;
    std::uint64_t hyp_state_pa;
    std::uint64_t hsave_pa;
    std::uint64_t kernel_hsave;     // the kernel's VM_HSAVE_PA before launch (rollback)
    HostSvm host;                   // the host's own EFER.SVME, VM_CR, VM_HSAVE_PA, GIF
    NestedCpu nested;
};

} // namespace vbh::svm
