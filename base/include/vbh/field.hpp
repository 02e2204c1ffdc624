// Field<hi, lo>: a named bit range of a raw hardware word, in the manual's bit order.
// Words stay plain integers, read and written whole (page-table entries atomically);
// a Field only makes masks. C bitfields are never used: their read-modify-write is
// neither atomic nor in a defined bit order (docs/architecture.md, "Code").
#pragma once

#include <cstdint>

namespace vbh {

template <unsigned Hi, unsigned Lo, class Raw = std::uint64_t>
struct Field {
    static_assert(Hi >= Lo && Hi < sizeof(Raw) * 8, "Field<hi, lo> outside the word");

    static constexpr unsigned hi = Hi;
    static constexpr unsigned lo = Lo;
    static constexpr unsigned width = Hi - Lo + 1;
    static constexpr Raw max = width == sizeof(Raw) * 8 ? Raw(~Raw(0)) : Raw((Raw(1) << width) - 1);
    static constexpr Raw mask = Raw(max << Lo);

    static constexpr Raw get(Raw raw) { return Raw((raw & mask) >> Lo); }
    static constexpr bool fits(Raw v) { return v <= max; }
    static constexpr Raw make(Raw v) { return Raw((v << Lo) & mask); }
    static constexpr Raw set(Raw raw, Raw v) { return Raw((raw & Raw(~mask)) | make(v)); }
    static constexpr bool test(Raw raw) { return (raw & mask) != 0; }
};

template <unsigned B, class Raw = std::uint64_t>
using Bit = Field<B, B, Raw>;

// A physical-address field keeps its bits in place: value = raw & mask.
template <unsigned Hi, unsigned Lo>
struct AddrField : Field<Hi, Lo> {
    static constexpr std::uint64_t addr(std::uint64_t raw) { return raw & Field<Hi, Lo>::mask; }
    static constexpr bool aligned(std::uint64_t pa) { return (pa & ~Field<Hi, Lo>::mask) == 0; }
};

// True when no two of the masks share a bit: checks a layout's field list.
constexpr bool disjoint(std::uint64_t) { return true; }
template <class... Rest>
constexpr bool disjoint(std::uint64_t a, std::uint64_t b, Rest... rest) {
    return (a & b) == 0 && disjoint(a | b, rest...);
}

} // namespace vbh
