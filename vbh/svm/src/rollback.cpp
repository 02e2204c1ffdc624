// Leaving guest mode for good on this CPU, the SVM half: DEVIRT (before seal) and a
// failed first VMRUN. Both put the kernel's control registers, descriptor tables and
// VMLOAD state back while still running from hypervisor memory (mapped at the same
// address in the kernel's tables, boot.h).
#include <vbh/svm/backend.hpp>

// vmrun.S: build the IRET frame, STGI, restore EFER, load the GPRs, IRETQ.
extern "C" [[noreturn]] void vbh_devirt_iret(const std::uint64_t* gprs,
                                             const std::uint64_t* frame, std::uint64_t efer);

namespace vbh::svm {

// VM_HSAVE_PA first: the host's own value (what it last wrote, the kernel's before
// launch otherwise) before anything else changes. Then the kernel's registers; GS is
// still the hypervisor's until the VMLOAD.
static void restore_kernel(const Cpu& c, const arch::KernelState& k) {
    const std::uint64_t l1_pa = c.l1.pa;
    arch::wrmsr(msr_vm_hsave_pa, c.host.hsave_pa);
    arch::load_kernel_state(k);
    vmload(l1_pa); // FS, GS, TR, LDTR, KernelGsBase, syscall/sysenter MSRs
}

void Svm::rollback(Cpu& c, const arch::KernelState& k) {
    restore_kernel(c, k);
    stgi();
    arch::wrmsr(msr_efer, k.efer);
}

void Svm::devirt(Cpu& c, VcpuState& s, const arch::KernelState&) {
    const Vmcb& v = *c.l1.vmcb;
    const arch::KernelState k{v.cr0, v.cr2, v.cr3, v.cr4, v.dr7, v.efer,
                              {std::uint16_t(v.gdtr.limit), v.gdtr.base},
                              {std::uint16_t(v.idtr.limit), v.idtr.base},
                              v.cs.selector, v.ss.selector, v.ds.selector, v.es.selector};
    const std::uint64_t frame[5] = {v.rip, v.cs.selector, v.rflags, v.rsp, v.ss.selector};
    // The host's own SVME (host_svm.hpp). GIF ends up 1 (vbh_devirt_iret): a host
    // that left GIF clear would have its NMIs back, and a held one is lost.
    const std::uint64_t efer = host_efer(c.host, v.efer);
    s.set_reg(Gpr::rax, v.rax);
    restore_kernel(c, k);
    vbh_devirt_iret(s.gpr, frame, efer);
}

} // namespace vbh::svm
