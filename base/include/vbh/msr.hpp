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

// EFER bits (AMD APM vol. 2 §3.1.7).
inline constexpr std::uint64_t efer_sce = 1u << 0;
inline constexpr std::uint64_t efer_lme = 1u << 8;
inline constexpr std::uint64_t efer_lma = 1u << 10;
inline constexpr std::uint64_t efer_nxe = 1u << 11;
inline constexpr std::uint64_t efer_svme = 1u << 12;
inline constexpr std::uint64_t efer_lmsle = 1u << 13;
inline constexpr std::uint64_t efer_ffxsr = 1u << 14;
inline constexpr std::uint64_t efer_tce = 1u << 15;

} // namespace vbh
