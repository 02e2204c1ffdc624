// The Format concept: everything the engine needs to know about one hardware table layout.
// Levels count from the leaf table up: level 0 holds 4 KiB entries, level 1 2 MiB, level 2
// 1 GiB, level 3 512 GiB (every format here uses 9 index bits per level, 512 entries of
// 8 bytes in a 4 KiB table).
#pragma once

#include <ept/attrs.hpp>

#include <concepts>
#include <cstdint>

namespace vbh::ept {

inline constexpr unsigned entries_per_table = 512;
inline constexpr std::uint64_t frame_size = 4096;

constexpr unsigned shift(unsigned level) { return 12 + 9 * level; }
constexpr std::uint64_t page_size(unsigned level) { return 1ull << shift(level); }
constexpr unsigned index(std::uint64_t va, unsigned level) { return (va >> shift(level)) & 511; }

inline constexpr std::uint64_t kib4 = page_size(0);
inline constexpr std::uint64_t mib2 = page_size(1);
inline constexpr std::uint64_t gib1 = page_size(2);

// What the owner of a table must invalidate after a change that Change::flush reports.
enum class Flush : std::uint8_t {
    invlpg,  // Hpt: INVLPG each page (or reload CR3; G pages need INVLPG or CR4.PGE toggle)
    asid,    // Npt: TLB_CONTROL or a new ASID on every CPU running the guest (APM §15.16)
    invept,  // Ept: INVEPT single-context on every CPU using the EPTP (SDM §29.4.3.1)
    iotlb,   // Vtd: IOTLB/context invalidation, write-buffer flush if CAP.RWBF (VT-d §6.5)
    amdvi,   // AmdVi: INVALIDATE_IOMMU_PAGES + COMPLETION_WAIT (AMD IOMMU spec §2.4.3)
};

template <class F>
concept Format = requires(std::uint64_t e, std::uint64_t pa, Attrs a, unsigned level) {
    { F::levels } -> std::convertible_to<unsigned>;       // 4 (PML4) or 3 (VT-d 39-bit)
    { F::max_leaf } -> std::convertible_to<unsigned>;     // highest level holding a leaf
    { F::pa_mask } -> std::convertible_to<std::uint64_t>; // address bits an entry holds
    { F::hw_bits } -> std::convertible_to<std::uint64_t>; // bits hardware sets (A/D)
    { F::flush } -> std::convertible_to<Flush>;
    { F::flush_on_map } -> std::convertible_to<bool>;     // walkers cache not-present entries
    { F::encodable(a) } -> std::same_as<bool>;
    { F::canonical(a) } -> std::same_as<Attrs>;
    { F::leaf(pa, a, level) } -> std::same_as<std::uint64_t>;
    { F::table(pa, level) } -> std::same_as<std::uint64_t>; // entry at level -> table
    { F::present(e) } -> std::same_as<bool>;
    { F::is_leaf(e, level) } -> std::same_as<bool>;
    { F::address(e, level) } -> std::same_as<std::uint64_t>;
    { F::attrs(e, level) } -> std::same_as<Attrs>;
};

// Highest virtual address + 1 that a format's tables translate.
template <Format F>
inline constexpr std::uint64_t va_limit = page_size(F::levels);

template <Format F>
constexpr bool leaf_ok(unsigned level) { return level <= F::max_leaf; }

} // namespace vbh::ept
