// The SVM backend's MSR policy: one table, one row per MSR or range, each with its
// reason (docs/launch.md, "MSRs" repeats it for readers). msrpm.cpp builds the
// permission map from it, msr.hpp emulates the rows marked `emulate`.
//
// Writes are default-deny: a WRMSR to an MSR no row lets through natively exits and
// is refused with #GP(0), the CPU's own answer to an MSR it does not implement, and
// logged (VBH_LOG_MSR_DENIED). Reads are default-native: RDMSR changes nothing, and
// with nested paging no MSR the host can read names or reveals hypervisor memory
// except VM_HSAVE_PA, which is emulated. MSRs outside the map's three ranges always
// exit (AMD APM vol. 2 §15.11): reads and writes #GP.
//
// Why writes matter (APM vol. 2): MTRRs (§7.7), SYSCFG (§7.9.1: MtrrFixDramEn,
// MtrrVarDramEn, Tom2ForceMemTypeWB), TOP_MEM/TOM2 (§7.9.2) and IORRs (§7.9.3) are not
// virtualised by SVM: they type or route the physical accesses of every mode,
// hypervisor included. SMM_ADDR/SMM_MASK/SMM_BASE/SMM_CTL (§10.2) move or open SMRAM;
// HWCR (BKDG: INVDWBINVD, SmmLock, McStatusWrEn, ...) changes cache and SMM control;
// the patch loader replaces microcode. PAT is virtualised with nested paging: the
// host's PAT is the VMCB's G_PAT and types only the host's own accesses (§15.25.8).
#pragma once

#include <vbh/msr.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::svm {

enum class MsrRead : std::uint8_t { native, emulate };
enum class MsrWrite : std::uint8_t { native, emulate, refuse };

struct MsrRule {
    std::uint32_t first;
    std::uint32_t last;
    MsrRead read;
    MsrWrite write;
};

using R = MsrRead;
using W = MsrWrite;

// Sorted by MSR number. Rows with `refuse` repeat the default on purpose: each names
// a register whose write would retype, move or re-route memory or touch SMM or cache
// control, so that the choice is written down and tested (msrpm_test.cpp).
inline constexpr MsrRule msr_rules[] = {
    {msr_tsc, msr_tsc, R::native, W::refuse},                   // vbh's exit clock; Linux on AMD never writes it
    {msr_apic_base, msr_apic_base, R::native, W::emulate},      // same value only: vbh kicks through the APIC it captured at launch
    {msr_spec_ctrl, msr_pred_cmd, R::native, W::native},        // the host's own speculation controls (IBRS/STIBP/SSBD, IBPB)
    {msr_sysenter_cs, msr_sysenter_eip, R::native, W::native},  // VMLOAD/VMSAVE state: the host's copy only (§15.5.2)
    {msr_mcg_status, msr_mcg_ctl, R::native, W::native},        // machine-check reporting: no memory or cache effect
    {msr_debugctl, msr_debugctl, R::native, W::emulate},        // BTF only (ptrace block-step); LBR would record vbh's branches
    {msr_mtrr_var_first, msr_mtrr_var_last, R::native, W::refuse}, // MTRRs type vbh's memory too (§7.7)
    {msr_mtrr_fix_first, msr_mtrr_fix_last, R::native, W::refuse},
    {msr_pat, msr_pat, R::native, W::native},                   // G_PAT with nested paging (§15.25.8)
    {msr_mtrr_def_type, msr_mtrr_def_type, R::native, W::refuse},
    {msr_mc_bank_first, msr_mc_bank_last, R::native, W::native}, // MCi_CTL/STATUS/ADDR/MISC: the MCE handler clears STATUS
    {msr_tsc_deadline, msr_tsc_deadline, R::native, W::native}, // the host's local APIC timer, every tick
    {msr_x2apic_first, msr_x2apic_last, R::native, W::native},  // the host's x2APIC (EOI, ICR, timer): mode fixed by APIC_BASE
    {msr_efer, msr_efer, R::emulate, W::emulate},               // the host's own SVME (host_svm.hpp); the CPU's stays 1; CPUID bits only
    {msr_star, msr_sfmask, R::native, W::native},               // syscall entry: VMLOAD/VMSAVE state
    {msr_fs_base, msr_tsc_aux, R::native, W::native},           // FS/GS/KernelGS base, TSC_AUX: VMLOAD/VMSAVE or per-CPU id
    {msr_perf_ctl0, msr_perf_ctl0 + 3, R::native, W::emulate},  // counters forced GuestOnly: they never count vbh
    {msr_perf_ctl0 + 4, msr_perf_ctr3, R::native, W::native},   // counter values
    {msr_syscfg, msr_syscfg, R::native, W::refuse},             // memory typing of RAM above/below TOM (§7.9.1)
    {msr_hwcr, msr_hwcr, R::native, W::refuse},                 // cache/SMM control (INVDWBINVD, SmmLock)
    {msr_iorr_base0, msr_iorr_mask1, R::native, W::refuse},     // re-route ranges to I/O (§7.9.3)
    {msr_top_mem, msr_top_mem, R::native, W::refuse},           // where DRAM ends below 4 GiB (§7.9.2)
    {msr_top_mem2, msr_top_mem2, R::native, W::refuse},         // where DRAM ends above 4 GiB
    {msr_nb_cfg, msr_nb_cfg, R::native, W::refuse},             // northbridge configuration
    {msr_patch_loader, msr_patch_loader, R::native, W::refuse}, // microcode update
    {msr_mmio_cfg_base, msr_mmio_cfg_base, R::native, W::refuse}, // moves PCI config space (MMCONFIG)
    {msr_smm_base, msr_smm_mask, R::native, W::refuse},         // SMRAM base and TSEG (§10.2)
    {msr_vm_cr, msr_vm_cr, R::emulate, W::emulate},             // the host's shadow, unlocked (§15.30.1); never the CPU's
    {msr_smm_ctl, msr_smm_ctl, R::native, W::refuse},           // SMM entry/exit control
    {msr_vm_hsave_pa, msr_vm_hsave_pa, R::emulate, W::emulate}, // the CPU's points at vbh's save area; the host's is a shadow
    {msr_virt_spec_ctrl, msr_virt_spec_ctrl, R::native, W::native}, // SSBD: the host's speculation control
    {msr_perf_ext_first, msr_perf_ext_last, R::native, W::emulate}, // PerfCtrExtCore: CTL GuestOnly, CTR 48 bits
};

constexpr const MsrRule* find_msr_rule(std::uint32_t msr) {
    for (const MsrRule& r : msr_rules)
        if (msr >= r.first && msr <= r.last)
            return &r;
    return nullptr;
}

constexpr MsrWrite write_policy(std::uint32_t msr) {
    const MsrRule* r = find_msr_rule(msr);
    return r ? r->write : MsrWrite::refuse;
}

constexpr MsrRead read_policy(std::uint32_t msr) {
    const MsrRule* r = find_msr_rule(msr);
    return r ? r->read : MsrRead::native;
}

constexpr bool rules_sorted() {
    for (std::size_t i = 0; i < sizeof msr_rules / sizeof msr_rules[0]; ++i) {
        if (msr_rules[i].first > msr_rules[i].last)
            return false;
        if (i > 0 && msr_rules[i - 1].last >= msr_rules[i].first)
            return false;
    }
    return true;
}
static_assert(rules_sorted(), "msr_rules: sorted, no overlap");

// PerfEvtSel (APM vol. 2 §13.2.1, figure 13-7): the bits a write may set; 40 is
// GuestOnly and 41 HostOnly. vbh sets GuestOnly and clears HostOnly, so with
// EFER.SVME = 1 the counter counts only in guest mode: never the hypervisor.
inline constexpr std::uint64_t perf_ctl_writable = 0x0000'030f'ffd7'ffffull;
inline constexpr std::uint64_t perf_ctl_guest_only = 1ull << 40;
inline constexpr std::uint64_t perf_ctl_host_only = 1ull << 41;
inline constexpr std::uint64_t perf_ctr_writable = (1ull << 48) - 1;
inline constexpr std::uint64_t debugctl_btf = 1u << 1;

// What the emulation (MSRs, the host's SVM instructions) needs to know about the CPU,
// fixed once at init from CPUID. No member initialisers: svm::shared, which holds one,
// must stay constant-initialised (the image runs no constructors: check-image.sh).
struct MsrCaps {
    std::uint64_t efer_writable;
    bool perf_ext;                  // CPUID Fn8000_0001 ECX[23] PerfCtrExtCore
    std::uint64_t phys_limit;       // 1 << MAXPHYADDR (Fn8000_0008 EAX[7:0])
    bool stgi_without_svme;         // SKINIT (Fn8000_0001 ECX[12]) or SVM-Lock (Fn8000_000A EDX[2])
};

// The EFER bits the host may write (APM vol. 2 §3.1.7, table 3-6): each only when
// CPUID reports the feature, since VMRUN fails its consistency checks on an EFER
// with an MBZ bit set (§15.5.1) and a CPU without the feature treats it as MBZ.
// SVME is kept 1 by the caller. LMSLE is never writable: Linux does not use it, CPUs
// from Zen 3 on report it MBZ (Fn8000_0008 EBX[20]), and one that does not say so
// may still refuse it (QEMU TCG does).
constexpr std::uint64_t efer_writable_from_cpuid(std::uint32_t ext_max, std::uint32_t e1_ecx,
                                                 std::uint32_t e1_edx, std::uint32_t e21_eax) {
    std::uint64_t w = efer_svme;
    if (e1_edx & (1u << 11))
        w |= efer_sce;
    if (e1_edx & (1u << 29))
        w |= efer_lme | efer_lma;
    if (e1_edx & (1u << 20))
        w |= efer_nxe;
    if (e1_edx & (1u << 25))
        w |= efer_ffxsr;
    if (e1_ecx & (1u << 17))
        w |= efer_tce;
    if (ext_max >= 0x80000021 && (e21_eax & (1u << 8)))
        w |= efer_autoibrs;
    return w;
}

} // namespace vbh::svm
