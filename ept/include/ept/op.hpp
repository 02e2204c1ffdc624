// Op: one requested change to a table, and Change: what performing it did.
// An Op is built (and may be validated and costed with Table::tables_needed) in a decode
// phase, then performed with Table::apply, which cannot fail once the frames are there.
#pragma once

#include <ept/attrs.hpp>

#include <cstdint>

namespace vbh::ept {

enum class OpKind : std::uint8_t { map, unmap, protect };

struct Op {
    OpKind kind = OpKind::unmap;
    std::uint64_t va = 0;
    std::uint64_t size = 0;
    std::uint64_t pa = 0; // map only
    Attrs attrs{};        // map: everything; protect: only attrs.perm is used

    // Translate [va, va + size) to [pa, pa + size), replacing whatever was there.
    static constexpr Op map(std::uint64_t va, std::uint64_t pa, std::uint64_t size, Attrs a)
    {
        return Op{OpKind::map, va, size, pa, a};
    }
    // Remove every translation in [va, va + size); holes stay holes.
    static constexpr Op unmap(std::uint64_t va, std::uint64_t size)
    {
        return Op{OpKind::unmap, va, size, 0, {}};
    }
    // Give every mapped page in [va, va + size) the permissions p; holes stay holes.
    static constexpr Op protect(std::uint64_t va, std::uint64_t size, Perm p)
    {
        return Op{OpKind::protect, va, size, 0, Attrs{p}};
    }

    constexpr std::uint64_t end() const { return va + size; }
};

// What apply() does with a table its op leaves uniform (equivalent to one superpage, or
// empty). now: collapse it on the way out (the table is always as merged as its
// translations allow). later: leave it, translating the same; Table::merge() collapses it
// when the owner chooses. A hot 4 KiB page that goes back and forth then costs one entry
// per change instead of a split and a re-merge of whole tables.
enum class Remerge : std::uint8_t { now, later };

struct Change {
    // A translation that was present may be cached: do the format's Flush (Format::flush)
    // before relying on the change, and before releasing retired frames.
    bool flush = false;
    std::uint32_t allocated = 0; // table frames taken from TableMemory::alloc
    std::uint32_t retired = 0;   // table frames handed to TableMemory::retire
};

} // namespace vbh::ept
