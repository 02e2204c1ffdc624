// Long-mode page tables for the guest: an identity map of the low GiBs in 2 MiB pages,
// built into guest RAM before the first KVM_RUN (AMD APM vol. 2 §5.3, 4-level paging).
// Pure: it writes bytes into a span, so it is tested on the host.
#pragma once

#include "result.hpp"

#include <cstdint>
#include <optional>
#include <span>

namespace vmm {

// Page-table entry bits (AMD APM vol. 2 §5.4.1).
inline constexpr std::uint64_t pte_present = 1u << 0;
inline constexpr std::uint64_t pte_write = 1u << 1;
inline constexpr std::uint64_t pte_pwt = 1u << 3;
inline constexpr std::uint64_t pte_pcd = 1u << 4;
inline constexpr std::uint64_t pte_large = 1u << 7;  // PS: a 2 MiB page in a PD entry
inline constexpr std::uint64_t pte_addr = 0x000F'FFFF'FFFF'F000;

inline constexpr std::uint64_t page_size = 0x1000;
inline constexpr std::uint64_t gib = 1ull << 30;
inline constexpr std::uint64_t large_page = 2ull << 20;

// Table pages an identity map of `bytes` needs: PML4 + PDPT + one PD per GiB.
constexpr std::uint64_t identity_map_pages(std::uint64_t bytes) { return 2 + bytes / gib; }

// Writes the tables at guest-physical `tables` (page aligned) into `ram` (ram[0] is
// GPA 0) mapping [0, bytes) to itself, writable, supervisor, executable; 2 MiB pages at
// or above `uncached_from` get PCD|PWT (device memory: MMIO window, LAPIC). `bytes` is a
// whole number of GiB, at most 512. Returns the CR3 value (the PML4's address).
Result<std::uint64_t> build_identity_map(std::span<std::uint8_t> ram, std::uint64_t tables,
                                         std::uint64_t bytes, std::uint64_t uncached_from);

// What the tables in `ram` map `va` to: the physical address and the leaf entry, or
// nothing when the walk finds a non-present entry or leaves `ram`.
struct Translation {
    std::uint64_t pa;
    std::uint64_t leaf;
};
std::optional<Translation> translate(std::span<const std::uint8_t> ram, std::uint64_t cr3,
                                     std::uint64_t va);

} // namespace vmm
