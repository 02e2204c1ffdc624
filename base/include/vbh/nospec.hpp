// Index masking against bounds-check bypass (Spectre v1; AMD "Software Techniques for
// Managing Speculation on AMD Processors", mitigation V1-2): after `i < n` has been
// checked with a branch, index_nospec(i, n) is i when i < n and 0 otherwise, computed
// with CMP/SBB from data, not predicted. A CPU that speculates past a mispredicted
// bounds check therefore loads element 0, never an address the host chose.
// Used on every host-controlled index (docs/exit-cost.md, "Speculation"): CPU numbers,
// domain ids and frame numbers from hypercalls. Three instructions (CMP, SBB, AND).
#pragma once

#include <cstdint>

namespace vbh {

inline std::uint64_t index_nospec(std::uint64_t i, std::uint64_t n) {
    std::uint64_t mask;
    // CMP computes i - n: CF = 1 exactly when i < n (unsigned); SBB m, m = -CF.
    asm("cmp %2, %1\n\tsbb %0, %0" : "=r"(mask) : "r"(i), "r"(n) : "cc");
    return i & mask;
}

} // namespace vbh
