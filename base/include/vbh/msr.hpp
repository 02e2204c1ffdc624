// The one table of model-specific register numbers vbh uses, and the architectural
// EFER bits (AMD APM vol. 2 appendix A and §3.1.7; Intel SDM vol. 4). Vendor-only
// MSRs are named here too; which ones a backend intercepts, and why, is the
// backend's business (svm/msr.hpp).
#pragma once

#include <cstdint>

namespace vbh {

inline constexpr std::uint32_t msr_apic_base = 0x1b;
inline constexpr std::uint32_t msr_pat = 0x277;
inline constexpr std::uint32_t msr_x2apic_id = 0x802;  // x2APIC register 0x02
inline constexpr std::uint32_t msr_x2apic_icr = 0x830; // x2APIC register 0x30
inline constexpr std::uint32_t msr_efer = 0xc0000080;
inline constexpr std::uint32_t msr_fs_base = 0xc0000100;
inline constexpr std::uint32_t msr_gs_base = 0xc0000101;
inline constexpr std::uint32_t msr_kernel_gs_base = 0xc0000102;
inline constexpr std::uint32_t msr_vm_cr = 0xc0010114;       // AMD
inline constexpr std::uint32_t msr_vm_hsave_pa = 0xc0010117; // AMD

// The rest of the MSRs the SVM backend's policy names (svm/msr_policy.hpp), in
// address order. Architectural (APM vol. 2 appendix A; SDM vol. 4 table 2-2):
inline constexpr std::uint32_t msr_tsc = 0x10;
inline constexpr std::uint32_t msr_spec_ctrl = 0x48;
inline constexpr std::uint32_t msr_pred_cmd = 0x49;
inline constexpr std::uint32_t msr_mtrr_cap = 0xfe;
inline constexpr std::uint32_t msr_sysenter_cs = 0x174;
inline constexpr std::uint32_t msr_sysenter_eip = 0x176;
inline constexpr std::uint32_t msr_mcg_status = 0x17a;
inline constexpr std::uint32_t msr_mcg_ctl = 0x17b;
inline constexpr std::uint32_t msr_debugctl = 0x1d9;
inline constexpr std::uint32_t msr_mtrr_var_first = 0x200; // PhysBase0 .. PhysMask7
inline constexpr std::uint32_t msr_mtrr_var_last = 0x20f;
inline constexpr std::uint32_t msr_mtrr_fix_first = 0x250; // Fix64K_00000
inline constexpr std::uint32_t msr_mtrr_fix_last = 0x26f;  // Fix4K_F8000
inline constexpr std::uint32_t msr_mtrr_def_type = 0x2ff;
inline constexpr std::uint32_t msr_mc_bank_first = 0x400;  // MC0_CTL
inline constexpr std::uint32_t msr_mc_bank_last = 0x47f;   // MC31_MISC
inline constexpr std::uint32_t msr_tsc_deadline = 0x6e0;
inline constexpr std::uint32_t msr_x2apic_first = 0x800;
inline constexpr std::uint32_t msr_x2apic_last = 0x8ff;
inline constexpr std::uint32_t msr_star = 0xc0000081;      // STAR, LSTAR, CSTAR, SFMASK
inline constexpr std::uint32_t msr_sfmask = 0xc0000084;
inline constexpr std::uint32_t msr_tsc_aux = 0xc0000103;
// AMD only (APM vol. 2 appendix A.7, BKDG/PPR for the family-specific ones):
inline constexpr std::uint32_t msr_perf_ctl0 = 0xc0010000;   // PerfEvtSel0..3
inline constexpr std::uint32_t msr_perf_ctr3 = 0xc0010007;   // PerfCtr0..3 at +4
inline constexpr std::uint32_t msr_syscfg = 0xc0010010;
inline constexpr std::uint32_t msr_hwcr = 0xc0010015;
inline constexpr std::uint32_t msr_iorr_base0 = 0xc0010016; // IORRBase/Mask 0..1
inline constexpr std::uint32_t msr_iorr_mask1 = 0xc0010019;
inline constexpr std::uint32_t msr_top_mem = 0xc001001a;
inline constexpr std::uint32_t msr_top_mem2 = 0xc001001d;
inline constexpr std::uint32_t msr_nb_cfg = 0xc001001f;
inline constexpr std::uint32_t msr_patch_loader = 0xc0010020;
inline constexpr std::uint32_t msr_mmio_cfg_base = 0xc0010058;
inline constexpr std::uint32_t msr_smm_base = 0xc0010111;
inline constexpr std::uint32_t msr_smm_addr = 0xc0010112; // TSEG base
inline constexpr std::uint32_t msr_smm_mask = 0xc0010113; // TSEG mask, ASeg/TSeg valid
inline constexpr std::uint32_t msr_smm_ctl = 0xc0010116;
inline constexpr std::uint32_t msr_virt_spec_ctrl = 0xc001011f;
inline constexpr std::uint32_t msr_perf_ext_first = 0xc0010200; // PerfEvtSel0/PerfCtr0 ..
inline constexpr std::uint32_t msr_perf_ext_last = 0xc001020b;  // PerfEvtSel5/PerfCtr5

// EFER bits (AMD APM vol. 2 §3.1.7).
inline constexpr std::uint64_t efer_sce = 1u << 0;
inline constexpr std::uint64_t efer_lme = 1u << 8;
inline constexpr std::uint64_t efer_lma = 1u << 10;
inline constexpr std::uint64_t efer_nxe = 1u << 11;
inline constexpr std::uint64_t efer_svme = 1u << 12;
inline constexpr std::uint64_t efer_lmsle = 1u << 13;
inline constexpr std::uint64_t efer_ffxsr = 1u << 14;
inline constexpr std::uint64_t efer_tce = 1u << 15;
inline constexpr std::uint64_t efer_autoibrs = 1u << 21; // AMD Zen 4: automatic IBRS

} // namespace vbh
