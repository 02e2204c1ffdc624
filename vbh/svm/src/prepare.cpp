// Late launch on one CPU (AMD APM vol. 2 §15.5 VMRUN, §15.30 SVM MSRs): capture the
// running kernel into the guest VMCB exactly as it is, then move this CPU onto the
// hypervisor's own GDT/TSS/IDT/page tables/stack and enter the VMRUN loop.
#include <vbh/arch/cpu.hpp>
#include <vbh/arch/desc.hpp>
#include <vbh/exit_msr.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/svm/insn.hpp>
#include <vbh/svm/svm.hpp>

#include <cstring>

extern "C" [[noreturn]] void vbh_enter_hyp(vbh::image::PerCpu* pc, const vbh::arch::DescPtr* gdtr,
                                          const vbh::arch::DescPtr* idtr, std::uint64_t cr3,
                                          std::uint64_t stack_top);

namespace vbh::svm {

using namespace vbh::image;

void build_msrpm(std::uint8_t* map);

Result<void> init() {
    // CPUID Fn8000_0001 ECX[2] = SVM; Fn8000_000A EDX[0] = nested paging (§15.4).
    if (!(arch::cpuid(0x80000001).ecx & (1u << 2)))
        return unexpected(Status::state);
    g.svm_features = arch::cpuid(0x8000000a).edx;
    if (!(g.svm_features & svm_feature_npt))
        return unexpected(Status::state);
    if (arch::rdmsr(arch::msr_vm_cr) & vm_cr_svmdis)
        return unexpected(Status::denied); // disabled by firmware
    auto msrpm = g.frames.alloc_contig(2); // 8 KiB (§15.11)
    auto iopm = g.frames.alloc_contig(3);  // 12 KiB (§15.10.1); IOIO_PROT stays off
    if (!msrpm || !iopm)
        return unexpected(Status::no_memory);
    build_msrpm(static_cast<std::uint8_t*>(*msrpm));
    g.msrpm_pa = g.mem.phys(*msrpm);
    g.iopm_pa = g.mem.phys(*iopm);
    return {};
}

// CS/SS/DS/ES with their hidden parts, from the descriptors the selectors name in
// the running GDT (§15.5.1: the VMCB holds the hidden state). A null selector is an
// unusable segment (allowed for SS/DS/ES at CPL 0 in 64-bit mode).
static Result<Segment> segment(std::uint16_t sel, std::uint64_t gdt_base) {
    if ((sel & ~3u) == 0)
        return Segment{sel, 0, 0, 0};
    if (sel & 4)
        return unexpected(Status::invalid); // LDT selector: not how a kernel runs
    const arch::SegDesc d = arch::gdt_entry(gdt_base, sel);
    return Segment{sel, d.vmcb_attr(), d.limit(), d.base()};
}

static Result<void> capture_segments(Vmcb& v, const LaunchSave& s) {
    auto cs = segment(s.cs, s.gdtr.base), ss = segment(s.ss, s.gdtr.base);
    auto ds = segment(s.ds, s.gdtr.base), es = segment(s.es, s.gdtr.base);
    if (!cs || !ss || !ds || !es)
        return unexpected(Status::invalid);
    v.cs = *cs;
    v.ss = *ss;
    v.ds = *ds;
    v.es = *es;
    v.gdtr = Segment{0, 0, s.gdtr.limit, s.gdtr.base};
    v.idtr = Segment{0, 0, s.idtr.limit, s.idtr.base};
    // QEMU takes the CPL from SS.DPL, hardware from VMCB.CPL (platform.md quirk 4).
    v.cpl = std::uint8_t(SegDpl::get(v.ss.attrib));
    return {};
}

static void capture_control(Vmcb& v, [[maybe_unused]] std::uint32_t cpu) {
    // Intercepts, each needed for isolation (docs/launch.md, "Intercepts"):
    //  NMI       the cross-CPU invalidation kick must force an exit (other NMIs are
    //            re-injected); INVLPGA/VMLOAD/VMSAVE/STGI/CLGI/SKINIT: #UD, the host
    //            must not touch SVM state (threats.md #8); MSR_PROT: EFER.SVME,
    //            VM_CR, VM_HSAVE_PA (threats.md #7); SHUTDOWN: a triple fault would
    //            otherwise reset the machine under us; VMRUN: required by §15.5.1 and
    //            refused; VMMCALL: the hypercall.
    v.icpt_misc3 = icpt3::nmi | icpt3::invlpga | icpt3::msr_prot | icpt3::shutdown;
    v.icpt_misc4 = icpt4::vmrun | icpt4::vmmcall | icpt4::vmload | icpt4::vmsave |
                   icpt4::stgi | icpt4::clgi | icpt4::skinit;
    v.iopm_pa = g.iopm_pa;
    v.msrpm_pa = g.msrpm_pa;
    // One ASID for the host on every CPU (ASID 0 is the hypervisor's, §15.16).
    v.asid_tlb = TlbControl::set(Asid::set(0, 1), tlb_flush_all);
    // V_INTR_MASKING = 0: physical interrupts go straight to the host's IDT without
    // exits (platform.md quirk 8).
    v.vintr = 0;
    v.np_ctl = NpEnable::set(0, 1);
    v.n_cr3 = g.npt->table().root();
#ifdef VBH_TEST_BREAK_VMRUN_CPU
    // vbh-failtest.bin only: ASID 0 fails VMRUN's consistency checks (§15.5.1) on this
    // CPU, which exercises the VMEXIT_INVALID rollback end to end.
    if (cpu == VBH_TEST_BREAK_VMRUN_CPU)
        v.asid_tlb = Asid::set(v.asid_tlb, 0);
#endif
}

static Status capture(PerCpu* pc, const vbh_guest_entry& e) {
    Vmcb& v = *pc->vmcb;
    LaunchSave& s = pc->save;
    s.cr0 = arch::read_cr0();
    s.cr2 = arch::read_cr2();
    s.cr3 = arch::read_cr3();
    s.cr4 = arch::read_cr4();
    s.dr7 = arch::read_dr7();
    s.gdtr = arch::sgdt();
    s.idtr = arch::sidt();
    s.cs = arch::read_cs();
    s.ss = arch::read_ss();
    s.ds = arch::read_ds();
    s.es = arch::read_es();
    if (auto r = capture_segments(v, s); !r)
        return r.error();
    v.efer = s.efer | efer_svme;
    v.cr0 = s.cr0;
    v.cr2 = s.cr2;
    v.cr3 = s.cr3;
    v.cr4 = s.cr4;
    v.dr6 = arch::read_dr6();
    v.dr7 = s.dr7;
    v.g_pat = arch::rdmsr(arch::msr_pat);
    v.rflags = e.rflags;
    v.rip = e.rip;
    v.rsp = e.rsp;
    v.rax = VBH_OK;
    capture_control(v, pc->cpu);
    return Status::ok;
}

// The hypervisor's GDT: null, 64-bit code, data, 64-bit TSS (16 bytes). Rebuilt at
// every launch so that LTR finds the TSS available, not busy.
static void build_gdt(PerCpu* pc) {
    std::memset(&pc->tss, 0, sizeof pc->tss);
    const std::uint64_t block = reinterpret_cast<std::uint64_t>(pc) - 8 * page;
    pc->tss.ist[0] = block + 6 * page - 16; // NMI
    pc->tss.ist[1] = block + 7 * page - 16; // #DF
    pc->tss.ist[2] = block + 8 * page - 16; // #MC
    pc->tss.iopb = sizeof(arch::Tss64);
    const auto tss = reinterpret_cast<std::uint64_t>(&pc->tss);
    pc->gdt[0] = 0;
    pc->gdt[1] = arch::SegDesc::make(0, 0xfffff, arch::access_code64, arch::flags_long);
    pc->gdt[2] = arch::SegDesc::make(0, 0xfffff, arch::access_data, arch::flags_data);
    pc->gdt[3] = arch::SegDesc::make(tss, sizeof(arch::Tss64) - 1, arch::access_tss, 0);
    pc->gdt[4] = tss >> 32;
    pc->gdt[5] = 0;
    pc->gdtr = arch::DescPtr{sizeof pc->gdt - 1, reinterpret_cast<std::uint64_t>(pc->gdt)};
    pc->idtr = arch::DescPtr{sizeof g.idt - 1, reinterpret_cast<std::uint64_t>(g.idt)};
}

static void reset_cpu_state(PerCpu* pc, const vbh_guest_entry& e) {
    std::memset(pc->vmcb, 0, sizeof(Vmcb));
    std::memset(&pc->vcpu, 0, sizeof pc->vcpu);
    pc->vcpu.cpu = pc->cpu;
    pc->entry = e;
    pc->entered = false;
    __atomic_store_n(&pc->kick_pending, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&pc->in_guest, 0, __ATOMIC_SEQ_CST);
    pc->seen_gen = __atomic_load_n(&g.npt_gen, __ATOMIC_SEQ_CST);
    pc->stats.version = VBH_STATS_VERSION;
    pc->stats.cpu = pc->cpu;
}

Status launch(std::uint32_t cpu, const vbh_guest_entry* entry, std::uint64_t linux_rsp) {
    if (!__atomic_load_n(&g.initialized, __ATOMIC_ACQUIRE))
        return Status::state;
    if (cpu >= g.br.nr_cpus || entry == nullptr)
        return Status::invalid;
    PerCpu* pc = g.cpus[cpu];
    // No "already launched" refusal: this code runs from hypervisor memory, which the
    // host NPT does not map, so a CPU executing it is in host mode. A CPU whose guest
    // was reset by INIT (offline/online) is launched afresh; its stale in_guest flag
    // is cleared so cross-CPU flushes stop waiting for it.
    const vbh_guest_entry e = *entry;
    reset_cpu_state(pc, e);
    pc->save.linux_rsp = linux_rsp;
    pc->save.efer = arch::rdmsr(arch::msr_efer);
    pc->save.hsave_msr = arch::rdmsr(arch::msr_vm_hsave_pa);
    if (const Status s = capture(pc, e); s != Status::ok)
        return s;
    // From here on the CPU changes; a failure goes through launch_failed().
    arch::wrmsr(arch::msr_efer, pc->save.efer | efer_svme);
    clgi(); // NMIs wait until the guest runs (or until rollback)
    arch::wrmsr(arch::msr_vm_hsave_pa, pc->hsave_pa);
    vmsave(pc->vmcb_pa); // FS, GS, TR, LDTR, KernelGsBase, STAR..SFMASK, SYSENTER_*
    build_gdt(pc);
    __atomic_store_n(&pc->stats.launched, 1, __ATOMIC_RELEASE);
    vbh_enter_hyp(pc, &pc->gdtr, &pc->idtr, pc->host_cr3, pc->stack_top);
}

} // namespace vbh::svm
