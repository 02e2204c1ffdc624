// Vtd: Intel VT-d second-level translation tables (VT-d spec rev. 3.x §9.8, "Second-Level
// Paging Entries"; walk in §3.7). Entries are present when R or W is set; non-leaf
// entries grant R|W and the leaf decides. Bits: R 0, W 1, X 2 (only with ECAP.SLEE, not
// used here: DMA does not execute), EMT 5:3 and IPAT 6 (leaf; honoured only when memory
// type support is enabled, ECAP.MTS), PS 7, A 8 / D 9 (with ECAP.SLADS), SNP 11.
// Levels: 3 for a 39-bit AGAW, 4 for 48-bit (CAP.SAGAW); 2 MiB/1 GiB leaves need CAP.SLLPS.
#pragma once

#include <ept/attrs.hpp>
#include <vbh/field.hpp>
#include <ept/format.hpp>

#include <cstdint>

namespace vbh::ept {

namespace vtd_bits {
using R = Bit<0>;
using W = Bit<1>;
using X = Bit<2>;
using Emt = Field<5, 3>; // leaf only
using Ipat = Bit<6>;     // leaf only
using Ps = Bit<7>;
using A = Bit<8>;
using D = Bit<9>;
using Snp = Bit<11>;
using Addr = AddrField<51, 12>;

static_assert(disjoint(R::mask, W::mask, X::mask, Emt::mask, Ipat::mask, Ps::mask, A::mask,
    D::mask, Snp::mask, Addr::mask));
} // namespace vtd_bits

template <unsigned Levels = 4, unsigned MaxLeaf = 2>
struct BasicVtd {
    static_assert(Levels == 3 || Levels == 4, "SAGAW: 3-level (39-bit) or 4-level (48-bit)");
    static_assert(MaxLeaf <= 2 && MaxLeaf < Levels, "SLLPS: 2 MiB and 1 GiB at most");
    static constexpr unsigned levels = Levels;
    static constexpr unsigned max_leaf = MaxLeaf;
    static constexpr std::uint64_t pa_mask = vtd_bits::Addr::mask;
    static constexpr std::uint64_t hw_bits = vtd_bits::A::mask | vtd_bits::D::mask;
    static constexpr Flush flush = Flush::iotlb;
    // With CAP.CM (caching mode, which QEMU's intel-iommu sets for device assignment)
    // the IOMMU may cache not-present entries, so even a new mapping needs invalidation.
    static constexpr bool flush_on_map = true;

    static constexpr bool encodable(Attrs a)
    {
        const bool type_ok = a.type == MemType::uc || a.type == MemType::wc ||
            a.type == MemType::wt || a.type == MemType::wp || a.type == MemType::wb;
        return (a.perm & Perm::rw) != Perm::none && type_ok;
    }

    static constexpr Attrs canonical(Attrs a)
    {
        return Attrs{a.perm & Perm::rw, a.type, false, false, a.ignore_pat};
    }

    static constexpr std::uint64_t table(std::uint64_t pa, unsigned)
    {
        return vtd_bits::Addr::addr(pa) | vtd_bits::R::mask | vtd_bits::W::mask;
    }

    static constexpr std::uint64_t leaf(std::uint64_t pa, Attrs a, unsigned level)
    {
        std::uint64_t e = pa & pa_mask & ~(page_size(level) - 1);
        e |= vtd_bits::R::make(allows(a.perm, Perm::r)) | vtd_bits::W::make(allows(a.perm, Perm::w));
        e |= vtd_bits::Emt::make(static_cast<std::uint64_t>(a.type));
        e |= vtd_bits::Ipat::make(a.ignore_pat);
        e |= level == 0 ? 0 : vtd_bits::Ps::mask;
        return e;
    }

    static constexpr bool present(std::uint64_t e)
    {
        return vtd_bits::R::test(e) || vtd_bits::W::test(e);
    }

    static constexpr bool is_leaf(std::uint64_t e, unsigned level)
    {
        return present(e) && (level == 0 || (level <= MaxLeaf && vtd_bits::Ps::test(e)));
    }

    static constexpr std::uint64_t address(std::uint64_t e, unsigned level)
    {
        return is_leaf(e, level) ? e & pa_mask & ~(page_size(level) - 1) : vtd_bits::Addr::addr(e);
    }

    static constexpr Attrs attrs(std::uint64_t e, unsigned)
    {
        Perm p = vtd_bits::R::test(e) ? Perm::r : Perm::none;
        if (vtd_bits::W::test(e)) p = p | Perm::w;
        return Attrs{p, static_cast<MemType>(vtd_bits::Emt::get(e)), false, false,
            vtd_bits::Ipat::test(e)};
    }
};

using Vtd = BasicVtd<>;
using Vtd3 = BasicVtd<3>;

static_assert(Format<Vtd> && Format<Vtd3>);
// §9.8 SL-PML4E: R | W, address in (HAW-1):12.
static_assert(Vtd::table(0x3000, 3) == 0x3003);
// §9.8 SL-PDE mapping 2 MiB: PS = bit 7, EMT WB = 6 in 5:3; write-only DMA is legal.
static_assert(Vtd::leaf(0x600000, {Perm::w}, 1) == 0x6000b2);
static_assert(Vtd::attrs(0x6000b2, 1) == Attrs{Perm::w});
static_assert(Vtd::canonical({Perm::rwx}).perm == Perm::rw && !Vtd::encodable({Perm::x}));

} // namespace vbh::ept
