// Late launch on one CPU, the SVM half (AMD APM vol. 2 §15.5 VMRUN, §15.30 SVM MSRs):
// check the CPU once, then per CPU capture the running kernel into the host's VMCB
// exactly as it is and switch SVM on. The image does the rest (image/src/launch.cpp).
#include <vbh/arch/cpu.hpp>
#include <vbh/arch/desc.hpp>
#include <vbh/svm/backend.hpp>

#include <cstring>

namespace vbh::svm {

void build_msrpm(std::uint8_t* map);
void build_iopm(std::uint8_t* map, const PlatformPorts& p);

Shared shared;
PstateTable pstates;

Status Svm::check_cpu() {
    // CPUID Fn8000_0001 ECX[2] = SVM; Fn8000_000A EDX[0] = nested paging (§15.4).
    if (!(arch::cpuid(0x80000001).ecx & (1u << 2)))
        return Status::state;
    shared.features = arch::cpuid(0x8000000a).edx;
    if (!(shared.features & svm_feature_npt))
        return Status::state;
    if (arch::rdmsr(msr_vm_cr) & vm_cr_svmdis)
        return Status::denied; // disabled by firmware
    // What the MSR emulation may let the host write (svm/msr_policy.hpp).
    const std::uint32_t ext_max = arch::cpuid(0x80000000).eax;
    const arch::CpuidRegs e1 = arch::cpuid(0x80000001);
    const std::uint32_t e21_eax = ext_max >= 0x80000021 ? arch::cpuid(0x80000021).eax : 0;
    shared.msr_caps.efer_writable = efer_writable_from_cpuid(ext_max, e1.ecx, e1.edx, e21_eax);
    shared.msr_caps.perf_ext = (e1.ecx & (1u << 23)) != 0;
    // The host's VM_HSAVE_PA and VMLOAD/VMSAVE addresses must be below MAXPHYADDR
    // (Fn8000_0008 EAX[7:0]); STGI works with EFER.SVME = 0 where SKINIT (Fn8000_0001
    // ECX[12]) or SVM-Lock (Fn8000_000A EDX[2]) exists (APM vol. 3, STGI).
    const std::uint32_t phys_bits = ext_max >= 0x80000008 ? arch::cpuid(0x80000008).eax & 0xff : 36;
    shared.msr_caps.phys_limit = 1ull << phys_bits;
    shared.msr_caps.stgi_without_svme = (e1.ecx & (1u << 12)) || (shared.features & (1u << 2));
    // What the host's VMCB12 is checked against (nested.hpp). NP_ENABLE is accepted:
    // a CPU with a shadow pool runs it on a shadow NPT (nested_shadow.hpp); 1 GiB pages
    // (Fn8000_0001 EDX[26]) decide whether KVM may use 1 GiB leaves.
    shared.nasid = arch::cpuid(0x8000000a).ebx;
    const arch::CpuidRegs l1 = arch::cpuid(1), l7 = arch::cpuid(7);
    shared.nested.caps = {std::uint8_t(phys_bits), cr4_allowed_from_cpuid(l1.ecx, l7.ebx, l7.ecx),
                          shared.msr_caps.efer_writable, shared.features, true,
                          (e1.edx & (1u << 26)) != 0};
    return Status::ok;
}

void Svm::init_maps(std::uint8_t* msrpm, std::uint64_t msrpm_pa, std::uint8_t* iopm,
                    std::uint64_t iopm_pa, const PlatformPorts& ports) {
    build_msrpm(msrpm);
    build_iopm(iopm, ports);
    shared.msrpm_pa = msrpm_pa;
    shared.iopm_pa = iopm_pa;
    shared.nested.msrpm = msrpm;
    shared.nested.iopm = iopm;
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

static Result<void> capture_segments(Vmcb& v, const arch::KernelState& k) {
    auto cs = segment(k.cs, k.gdtr.base), ss = segment(k.ss, k.gdtr.base);
    auto ds = segment(k.ds, k.gdtr.base), es = segment(k.es, k.gdtr.base);
    if (!cs || !ss || !ds || !es)
        return unexpected(Status::invalid);
    v.cs = *cs;
    v.ss = *ss;
    v.ds = *ds;
    v.es = *es;
    v.gdtr = Segment{0, 0, k.gdtr.limit, k.gdtr.base};
    v.idtr = Segment{0, 0, k.idtr.limit, k.idtr.base};
    // QEMU takes the CPL from SS.DPL, hardware from VMCB.CPL (docs/platform.md quirk 4).
    v.cpl = std::uint8_t(SegDpl::get(v.ss.attrib));
    return {};
}

static void capture_control(Vmcb& v, std::uint64_t stage2_root, [[maybe_unused]] std::uint32_t cpu) {
    // Intercepts, each needed for isolation (docs/launch.md, "Intercepts"):
    //  NMI       the cross-CPU invalidation kick must force an exit (other NMIs are
    //            re-injected, or held while the host's GIF is 0); INVLPGA/VMLOAD/
    //            VMSAVE/STGI/CLGI/SKINIT: emulated on the host's own SVM state or
    //            refused, the host must not touch the CPU's (svm/host_insn.hpp,
    //            docs/threats.md #8); MSR_PROT: EFER.SVME, VM_CR, VM_HSAVE_PA
    //            (docs/threats.md #7); SHUTDOWN: a triple fault would otherwise reset
    //            the machine under us; VMRUN: required by §15.5.1 and refused (#UD,
    //            docs/svm-host.md); VMMCALL: the hypercall; IOIO_PROT: the reset
    //            and sleep ports of the IOPM (io_policy.hpp); INIT: the CPU leaves
    //            guest mode, and the hypervisor must know it (docs/launch.md, INIT).
    //            MSR_PROT: default-deny writes (svm/msr_policy.hpp). INVD: it would
    //            discard the hypervisor's dirty cache lines; run as WBINVD instead.
    //            WBINVD too: QEMU 7.2 TCG checks the WBINVD intercept for INVD (fixed
    //            in 8.1), and running a WBINVD for the host is harmless and rare.
    v.icpt_misc3 = icpt3::nmi | icpt3::init | icpt3::invd | icpt3::invlpga | icpt3::ioio_prot |
                   icpt3::msr_prot | icpt3::shutdown;
    v.icpt_misc4 = icpt4::vmrun | icpt4::vmmcall | icpt4::vmload | icpt4::vmsave |
                   icpt4::stgi | icpt4::clgi | icpt4::skinit | icpt4::wbinvd;
    v.iopm_pa = shared.iopm_pa;
    v.msrpm_pa = shared.msrpm_pa;
    // One ASID for the host on every CPU (ASID 0 is the hypervisor's, §15.16).
    v.asid_tlb = TlbControl::set(Asid::set(0, 1), tlb_flush_all);
    // V_INTR_MASKING = 0: physical interrupts go straight to the host's IDT without
    // exits (docs/platform.md quirk 8).
    v.vintr = 0;
    v.np_ctl = NpEnable::set(0, 1);
    v.n_cr3 = stage2_root;
#ifdef VBH_TEST_BREAK_VMRUN_CPU
    // vbh-failtest.bin only: ASID 0 fails VMRUN's consistency checks (§15.5.1) on this
    // CPU, which exercises the VMEXIT_INVALID rollback end to end.
    if (cpu == VBH_TEST_BREAK_VMRUN_CPU)
        v.asid_tlb = Asid::set(v.asid_tlb, 0);
#endif
}

Status Svm::prepare(Cpu& c, const arch::KernelState& k, const vbh_guest_entry& e,
                    std::uint64_t stage2_root, std::uint32_t cpu) {
    Vmcb& v = *c.l1.vmcb;
    std::memset(&v, 0, sizeof v);
    c.active = c.l1;
    c.nested.npt_root = stage2_root;
    c.nested.used = false;
    c.nested.np = false;
    c.nested.v12_pa = 0; // no VMCB12 held (nested_state.hpp's gauges)
    c.nested.maps = {nullptr, nullptr};
    // The shadow's entries carry NX only if vbh's EFER.NXE (the kernel's, kept at
    // launch) makes it valid for the walk the CPU does of them.
    if (c.nested.shadow_pool)
        c.nested.shadow.init(c.nested.shadow_pool, c.nested.shadow_pool_pa, shadow_pool_pages,
                             (k.efer & efer_nxe) != 0);
    c.nested.asids.reset();
    c.kernel_hsave = arch::rdmsr(msr_vm_hsave_pa);
    c.host = host_svm_at_launch(k.efer, arch::rdmsr(msr_vm_cr), c.kernel_hsave);
    if (auto r = capture_segments(v, k); !r)
        return r.error();
    v.efer = k.efer | efer_svme;
    v.cr0 = k.cr0;
    v.cr2 = k.cr2;
    v.cr3 = k.cr3;
    v.cr4 = k.cr4;
    v.dr6 = arch::read_dr6();
    v.dr7 = k.dr7;
    v.g_pat = arch::rdmsr(msr_pat);
    v.rflags = e.rflags;
    v.rip = e.rip;
    v.rsp = e.rsp;
    v.rax = VBH_OK;
    capture_control(v, stage2_root, cpu);
    return Status::ok;
}

void Svm::enable(Cpu& c, const arch::KernelState& k) {
    arch::wrmsr(msr_efer, k.efer | efer_svme);
    clgi(); // NMIs wait until the guest runs (or until rollback)
    arch::wrmsr(msr_vm_hsave_pa, c.hsave_pa);
    vmsave(c.l1.pa); // FS, GS, TR, LDTR, KernelGsBase, STAR..SFMASK, SYSENTER_*
}

} // namespace vbh::svm
