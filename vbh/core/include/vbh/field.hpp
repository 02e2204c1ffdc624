// Field<hi, lo>: a bit range of a raw integer, named in the manual's bit order.
// Typed accessors over a plain integer instead of C bitfields (style.md §3).
#pragma once

#include <cstdint>

namespace vbh {

template <unsigned Hi, unsigned Lo, class Raw = std::uint64_t>
struct Field {
    static_assert(Hi >= Lo && Hi < sizeof(Raw) * 8, "field outside the word");
    static constexpr unsigned width = Hi - Lo + 1;
    static constexpr Raw max = width == sizeof(Raw) * 8 ? Raw(~Raw(0)) : Raw((Raw(1) << width) - 1);
    static constexpr Raw mask = Raw(max << Lo);

    static constexpr Raw get(Raw raw) { return Raw((raw & mask) >> Lo); }
    static constexpr Raw set(Raw raw, Raw v) { return Raw((raw & Raw(~mask)) | Raw((v & max) << Lo)); }
    static constexpr bool fits(Raw v) { return v <= max; }
};

} // namespace vbh
