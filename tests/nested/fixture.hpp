// A VMCB12 as KVM writes it for a 64-bit guest (every check passes), the CPU it runs
// on, and the host's own block: the starting points the nested tests mutate.
#pragma once

#include <vbh/msr.hpp>
#include <vbh/svm/nested.hpp>

#include <cstring>
#include <memory>

namespace vbh::svm::test {

inline constexpr std::uint64_t cr0_pe = 1u << 0, cr0_et = 1u << 4, cr0_wp = 1u << 16,
                               cr0_nw = 1u << 29, cr0_cd = 1u << 30, cr0_pg = 1u << 31;
inline constexpr std::uint64_t cr4_pae = 1u << 5, cr4_cet = 1u << 23;
inline constexpr std::uint64_t valid_pat = 0x0007040600070406ull; // the reset PAT
inline constexpr std::uint16_t seg_code64 = 0x29b;                // P, S, code, L=1, D=0

inline NestedCaps caps() {
    NestedCaps c{};
    c.phys_bits = 48;
    c.cr4_allowed = 0x37ffffull; // CR4 0..21 minus 19 (reserved on this CPU)
    c.cr4_allowed |= cr4_pae | cr4_cet;
    c.efer_allowed = efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme | efer_ffxsr;
    c.svm_features = svm_feature_npt | svm_feature_nrips | svm_feature_flush_by_asid |
                     svm_feature_vgif;
    c.nested_paging = false;
    return c;
}

inline std::unique_ptr<Vmcb> zero_vmcb() {
    auto v = std::make_unique<Vmcb>();
    std::memset(v.get(), 0, sizeof(Vmcb));
    return v;
}

inline std::unique_ptr<Vmcb> valid_vmcb12() {
    auto p = zero_vmcb();
    Vmcb& v = *p;
    v.icpt_misc3 = icpt3::intr | icpt3::nmi | icpt3::cpuid | icpt3::invlpga | icpt3::ioio_prot |
                   icpt3::msr_prot | icpt3::shutdown;
    v.icpt_misc4 = icpt4::vmrun | icpt4::vmmcall | icpt4::vmload | icpt4::vmsave | icpt4::stgi |
                   icpt4::clgi | icpt4::skinit;
    v.icpt_exc = 1u << 14; // #PF: shadow paging
    v.iopm_pa = 0x7000'0000;
    v.msrpm_pa = 0x7000'4000;
    v.tsc_offset = 1000;
    v.asid_tlb = Asid::set(0, 5);
    v.vintr = IntCtl::VIntrMasking::set(0, 1);
    v.cs = {0x10, seg_code64, 0xffffffff, 0};
    v.ss = {0x18, 0x293, 0xffffffff, 0};
    v.ds = v.es = v.ss;
    v.efer = efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme;
    v.cr0 = cr0_pe | cr0_et | cr0_wp | cr0_pg;
    v.cr3 = 0x1234000;
    v.cr4 = cr4_pae;
    v.dr6 = 0xffff0ff0;
    v.dr7 = 0x400;
    v.rflags = 2;
    v.rip = 0x401000;
    v.g_pat = valid_pat;
    return p;
}

// The host's block as vbh keeps it: its VMLOAD state and PAT.
inline std::unique_ptr<Vmcb> host_block() {
    auto p = zero_vmcb();
    p->fs = {0, 0x93, 0xffff, 0x7fff0000};
    p->gs = {0, 0x93, 0xffff, 0xffff888000000000};
    p->tr = {0x40, 0x8b, 0x67, 0xfffffe0000003000};
    p->kernel_gs_base = 0x1122;
    p->lstar = 0xffffffff81000000;
    p->sysenter_eip = 0x3344;
    p->g_pat = valid_pat;
    p->tsc_offset = 50;
    p->dr7 = 0x4ff;
    p->asid_tlb = Asid::set(0, 1);
    return p;
}

} // namespace vbh::svm::test
