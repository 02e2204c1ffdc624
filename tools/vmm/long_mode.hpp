// The 64-bit entry state of a vCPU: the flat segments, the GDT that holds them and the
// control registers of long mode with paging (AMD APM vol. 2 §14.6: CR0.PE|PG, CR4.PAE,
// EFER.LME|LMA). KVM_SET_SREGS loads the hidden segment state directly, but the GDT must
// hold the same descriptors: IRETQ after an interrupt reloads CS and SS from it.
#pragma once

#include "payload_abi.h"

#include <linux/kvm.h>

#include <array>
#include <cstdint>

namespace vmm {

inline constexpr std::uint64_t cr0_pe = 1u << 0;
inline constexpr std::uint64_t cr0_et = 1u << 4;
inline constexpr std::uint64_t cr0_ne = 1u << 5;
inline constexpr std::uint64_t cr0_wp = 1u << 16;
inline constexpr std::uint64_t cr0_pg = 1u << 31;
inline constexpr std::uint64_t cr4_pae = 1u << 5;
inline constexpr std::uint64_t efer_lme = 1u << 8;
inline constexpr std::uint64_t efer_lma = 1u << 10;

// Flat 64-bit code (VMM_CODE_SEL) and data (VMM_DATA_SEL) segments, ring 0.
kvm_segment code_segment();
kvm_segment data_segment();

// The 8-byte descriptor of a code or data segment (AMD APM vol. 2 §4.7, figure 4-20).
std::uint64_t descriptor(const kvm_segment& s);

// The GDT written at VMM_GDT: null, code, data.
using Gdt = std::array<std::uint64_t, 3>;
Gdt gdt();

// sregs for 64-bit entry with page tables at cr3 and the per-vCPU GS base; `reset` is
// KVM_GET_SREGS of the new vCPU (its TR, LDT and APIC base are kept).
kvm_sregs long_mode_sregs(const kvm_sregs& reset, std::uint64_t cr3, std::uint64_t gs_base);

} // namespace vmm
