// The tables a VT-d unit walks before the second level: one root table (256 buses)
// and one context table (256 device functions), shared by every unit. Every root entry
// points at the one context table and every context entry at the one second-level
// table in domain vbh_domain: all host devices get the same DMA view, the host NPT's.
// A unit only sees requests of the devices in its DMAR scope, so the extra entries
// are never used by the wrong unit.
//
// DmaMemory<M>: the table memory for the second-level table (ept::TableMemory M plus a
// cache-line flush after each entry write): a unit without ECAP.C does not snoop the
// CPU caches when it walks (VT-d §6.3), so each write is pushed to memory before the
// invalidation that makes the unit look again.
#pragma once

#include <ept/memory.hpp>
#include <iommu/vtd_regs.hpp>
#include <iommu/vtd_unit.hpp>

#include <cstdint>

namespace vbh::iommu {

inline void flush_line(const volatile void* p) {
    asm volatile("clflush %0" : : "m"(*static_cast<const volatile char*>(p)) : "memory");
}

inline void flush_range(const volatile void* p, std::uint64_t bytes) {
    for (std::uint64_t off = 0; off < bytes; off += 64)
        flush_line(static_cast<const volatile char*>(p) + off);
    asm volatile("mfence" ::: "memory");
}

template <ept::TableMemory M>
class DmaMemory : public M {
public:
    void set_coherent(bool c) { coherent_ = c; }
    bool coherent() const { return coherent_; }
    void wrote(ept::Slot* e) {
        M::wrote(e);
        if (!coherent_)
            flush_line(e);
    }

private:
    bool coherent_ = true;
};

// root and context: one zeroed 4 KiB frame each (256 entries of 16 bytes).
inline void fill_root_context(std::uint64_t* root, std::uint64_t* context, std::uint64_t context_pa,
                              std::uint64_t sl_root_pa, unsigned levels) {
    for (unsigned i = 0; i < 256; ++i) {
        root[2 * i] = vtd::root_lo(context_pa);
        root[2 * i + 1] = 0;
        context[2 * i] = vtd::context_lo(sl_root_pa);
        context[2 * i + 1] = vtd::context_hi(levels, vbh_domain);
    }
}

} // namespace vbh::iommu
