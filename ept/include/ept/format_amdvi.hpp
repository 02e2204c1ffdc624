// AmdVi: AMD IOMMU v1 host page tables (AMD I/O Virtualization Technology (IOMMU)
// Specification, §2.2.3 "I/O Page Tables for Host Translations", figures/tables for PDE
// and PTE). Fields: PR 0, A 5, D 6, Next Level 11:9, address 51:12, U 59, FC 60, IR 61,
// IW 62. A non-leaf entry names the level of the table it points to (1 = PTE table); a
// Next Level of 0 at the PDE/PDPE level maps a 2 MiB/1 GiB page (the natural size of that
// level; Next Level 7 pages of other sizes are not used). IR/IW of every level are ANDed,
// so non-leaf entries grant both and the leaf decides. There is no memory type: DMA
// coherence follows the device (FC = 0 keeps its No-Snoop attribute). The root level is
// the DTE's Mode field (4 for a 48-bit space).
#pragma once

#include <ept/attrs.hpp>
#include <vbh/field.hpp>
#include <ept/format.hpp>

#include <cstdint>

namespace vbh::ept {

namespace amdvi_bits {
using Pr = Bit<0>;
using A = Bit<5>;
using D = Bit<6>;
using NextLevel = Field<11, 9>;
using Addr = AddrField<51, 12>;
using U = Bit<59>;
using Fc = Bit<60>;
using Ir = Bit<61>;
using Iw = Bit<62>;

static_assert(disjoint(Pr::mask, A::mask, D::mask, NextLevel::mask, Addr::mask, U::mask,
    Fc::mask, Ir::mask, Iw::mask));
} // namespace amdvi_bits

template <unsigned Levels = 4, unsigned MaxLeaf = 2>
struct BasicAmdVi {
    static_assert(Levels == 3 || Levels == 4, "DTE Mode 3 (39-bit) or 4 (48-bit)");
    static_assert(MaxLeaf <= 2 && MaxLeaf < Levels, "natural leaves: 4 KiB, 2 MiB, 1 GiB");
    static constexpr unsigned levels = Levels;
    static constexpr unsigned max_leaf = MaxLeaf;
    static constexpr std::uint64_t pa_mask = amdvi_bits::Addr::mask;
    static constexpr std::uint64_t hw_bits = amdvi_bits::A::mask | amdvi_bits::D::mask;
    static constexpr Flush flush = Flush::amdvi;
    // An IOMMU reporting EFR/capability NpCache (e.g. emulated ones) caches not-present
    // entries, so new mappings need invalidation too.
    static constexpr bool flush_on_map = true;

    static constexpr bool encodable(Attrs a)
    {
        return (a.perm & Perm::rw) != Perm::none && a.type == MemType::wb;
    }

    static constexpr Attrs canonical(Attrs a) { return Attrs{a.perm & Perm::rw}; }

    static constexpr std::uint64_t table(std::uint64_t pa, unsigned level)
    {
        using namespace amdvi_bits;
        return Addr::addr(pa) | NextLevel::make(level) | Pr::mask | Ir::mask | Iw::mask;
    }

    static constexpr std::uint64_t leaf(std::uint64_t pa, Attrs a, unsigned level)
    {
        using namespace amdvi_bits;
        return (pa & pa_mask & ~(page_size(level) - 1)) | Pr::mask |
            Ir::make(allows(a.perm, Perm::r)) | Iw::make(allows(a.perm, Perm::w));
    }

    static constexpr bool present(std::uint64_t e) { return amdvi_bits::Pr::test(e); }

    static constexpr bool is_leaf(std::uint64_t e, unsigned level)
    {
        return present(e) && (level == 0 || (level <= MaxLeaf && amdvi_bits::NextLevel::get(e) == 0));
    }

    static constexpr std::uint64_t address(std::uint64_t e, unsigned level)
    {
        return is_leaf(e, level) ? e & pa_mask & ~(page_size(level) - 1) : amdvi_bits::Addr::addr(e);
    }

    static constexpr Attrs attrs(std::uint64_t e, unsigned)
    {
        Perm p = amdvi_bits::Ir::test(e) ? Perm::r : Perm::none;
        if (amdvi_bits::Iw::test(e)) p = p | Perm::w;
        return Attrs{p};
    }
};

using AmdVi = BasicAmdVi<>;

static_assert(Format<AmdVi>);
// PDE pointing at a PTE table: Next Level 1, PR, IR, IW.
static_assert(AmdVi::table(0x5000, 1) == 0x6000000000005201);
static_assert(AmdVi::table(0x5000, 3) == 0x6000000000005601);
// 2 MiB page: a PDE with Next Level 0; read-only DMA.
static_assert(AmdVi::leaf(0x400000, {Perm::r}, 1) == 0x2000000000400001);
static_assert(AmdVi::is_leaf(0x2000000000400001, 1) && !AmdVi::is_leaf(0x6000000000005201, 1));
static_assert(AmdVi::attrs(0x4000000000001001, 0) == Attrs{Perm::w});
static_assert(!AmdVi::encodable({Perm::rw, MemType::uc}) && !AmdVi::encodable({Perm::x}));

} // namespace vbh::ept
