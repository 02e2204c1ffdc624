// Leaving guest mode for good on this CPU: DEVIRT (before seal) and a failed first
// VMRUN. Both put the kernel's control registers, descriptor tables and VMLOAD state
// back while still running from hypervisor memory (mapped at the same address in
// the kernel's tables, boot.h), then return into the kernel.
#include <vbh/arch/cpu.hpp>
#include <vbh/arch/desc.hpp>
#include <vbh/arch/serial.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/svm/insn.hpp>

extern "C" [[noreturn]] void vbh_launch_return(std::uint64_t rsp, std::int64_t status,
                                               std::uint64_t cs, std::uint64_t ss);
extern "C" [[noreturn]] void vbh_devirt_iret(const std::uint64_t* gprs,
                                             const std::uint64_t* frame, std::uint64_t efer);

namespace vbh::svm {

using namespace vbh::image;

struct KernelState {
    std::uint64_t cr0, cr2, cr3, cr4, dr7;
    arch::DescPtr gdtr, idtr;
    std::uint16_t ds, es;
};

// CR4 first (PCIDE may only be set with CR3[11:0] = 0, true of our CR3), then CR3:
// from here on the kernel's tables translate, GS is still ours until VMLOAD.
static void restore_kernel(PerCpu* pc, const KernelState& k) {
    const std::uint64_t vmcb_pa = pc->vmcb_pa;
    arch::wrmsr(arch::msr_vm_hsave_pa, pc->save.hsave_msr);
    arch::write_cr4(k.cr4);
    arch::write_cr3(k.cr3);
    arch::write_cr0(k.cr0);
    arch::write_cr2(k.cr2);
    asm volatile("mov %0, %%dr7" ::"r"(k.dr7));
    arch::lgdt(k.gdtr);
    arch::lidt(k.idtr);
    asm volatile("mov %0, %%ds; mov %1, %%es" ::"r"(k.ds), "r"(k.es));
    vmload(vmcb_pa); // FS, GS, TR, LDTR, KernelGsBase, syscall/sysenter MSRs
}

[[noreturn]] void launch_failed(PerCpu* pc) {
    const LaunchSave& s = pc->save;
    g.log.record(VBH_LOG_LAUNCH_FAIL, pc->cpu, 0, pc->entry.rip, pc->vmcb->exit_code);
    arch::Serial::puts("vbh-hyp: VMRUN failed (VMEXIT_INVALID) on cpu ");
    arch::Serial::dec(pc->cpu);
    arch::Serial::puts(", rolled back\n");
    __atomic_store_n(&pc->stats.launched, 0, __ATOMIC_RELEASE);
    restore_kernel(pc, KernelState{s.cr0, s.cr2, s.cr3, s.cr4, s.dr7, s.gdtr, s.idtr, s.ds, s.es});
    stgi();
    arch::wrmsr(arch::msr_efer, s.efer);
    vbh_launch_return(s.linux_rsp, VBH_E_STATE, s.cs, s.ss);
}

[[noreturn]] void devirt(PerCpu* pc) {
    const Vmcb& v = *pc->vmcb;
    const KernelState k{v.cr0, v.cr2, v.cr3, v.cr4, v.dr7,
                        {std::uint16_t(v.gdtr.limit), v.gdtr.base},
                        {std::uint16_t(v.idtr.limit), v.idtr.base}, v.ds.selector, v.es.selector};
    const std::uint64_t frame[5] = {v.rip, v.cs.selector, v.rflags, v.rsp, v.ss.selector};
    const std::uint64_t efer = (v.efer & ~efer_svme) | (pc->save.efer & efer_svme);
    pc->vcpu.set_reg(Gpr::rax, v.rax);
    __atomic_store_n(&pc->stats.launched, 0, __ATOMIC_RELEASE);
    restore_kernel(pc, k);
    vbh_devirt_iret(pc->vcpu.gpr, frame, efer);
}

} // namespace vbh::svm
