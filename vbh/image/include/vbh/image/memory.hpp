// Hypervisor memory: the physically scattered chunks the loader reserved (hyp_ranges),
// mapped back to back at hyp_virt_base both in the kernel (vmap) and in the
// hypervisor's own tables (boot.h). HypMemory translates between the two views;
// HypFrames is the frame pool over the part after the boot record, and the
// TableMemory (ept/memory.hpp) that every page table of the hypervisor lives in.
#pragma once

#include <ept/memory.hpp>
#include <vbh/boot.h>
#include <vbh/result.hpp>
#include <vbh/spinlock.hpp>

#include <boost/intrusive/slist.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::image {

inline constexpr std::uint64_t page = 4096;

class HypMemory {
public:
    void init(const vbh_boot_record& br);
    std::uint64_t virt_base() const { return virt_; }
    std::uint64_t size() const { return size_; }
    // Offset (from virt_base) -> physical address; offset < size.
    std::uint64_t phys_of_offset(std::uint64_t off) const;
    std::uint64_t phys(const void* p) const {
        return phys_of_offset(reinterpret_cast<std::uint64_t>(p) - virt_);
    }
    // Physical -> hypervisor virtual, or 0 if pa is not hypervisor memory. A binary
    // search over the ranges by physical base: the table engine asks at every level of
    // every walk (HypFrames::entries), on the exit path too (a blocked host access).
    std::uint64_t virt_of_phys(std::uint64_t pa) const {
        const Span& s = span_of(pa);
        if (pa - s.base >= s.size) // pa below s.base wraps: not ours
            return 0;
        return s.virt + (pa - s.base);
    }
    // The same for a pa that must be hypervisor memory (a page table the engine got
    // from HypFrames): anything else is a bug, trapped.
    std::uint64_t virt_of_own(std::uint64_t pa) const {
        const Span& s = span_of(pa);
        if (pa - s.base >= s.size)
            __builtin_trap();
        return s.virt + (pa - s.base);
    }
    bool contains_phys(std::uint64_t pa) const { return virt_of_phys(pa) != 0; }
    std::uint32_t nr_ranges() const { return nr_; }
    const vbh_mem_range& range(std::uint32_t i) const { return ranges_[i]; }

private:
    struct Span {
        std::uint64_t base, size, virt;
    };
    // The range that holds pa if any does: the last one with base <= pa. With one
    // range (the usual case) no compare.
    const Span& span_of(std::uint64_t pa) const {
        const Span* s = by_base_; // with no ranges: all zero, size 0
        for (std::uint32_t n = nr_; n > 1;) {
            const std::uint32_t half = n / 2;
            if (s[half].base <= pa)
                s += half;
            n -= half;
        }
        return *s;
    }
    std::uint64_t virt_ = 0;
    std::uint64_t size_ = 0;
    std::uint32_t nr_ = 0;
    vbh_mem_range ranges_[VBH_MAX_HYP_RANGES] = {}; // in virtual (boot record) order
    Span by_base_[VBH_MAX_HYP_RANGES] = {};         // the same, by physical base
};

// Frames come from a bump pointer over [start, end) of hypervisor memory and, once
// freed, from a free list. Neither list has a cap: every frame of the pool can be on it.
//
// Free frames hold the list themselves: a free frame is hypervisor memory nobody reads,
// so its first 8 bytes are the link (a Boost.Intrusive slist, constructed in init():
// its constructor is not constexpr, and the image runs no global constructors).
//
// Retired frames cannot: a page table the engine has unlinked may still be walked until
// the flush, by another CPU's walker through a cached upper-level entry, by an IOMMU, or
// by a lock-free lookup (ept/memory.hpp). A link in its first entry would read as a
// not-present entry there (a spurious NPF for a CPU, a DMA fault for a device). They
// wait, as frame numbers, in a stack carved from the end of the pool at init: 4 bytes
// per pool frame (1/1024 of the pool), enough for every frame the pool can hand out to
// be retired at once. release_retired(), after the flush, moves them to the free list.
class HypFrames {
public:
    void init(HypMemory& mem, std::uint64_t start_off, std::uint64_t end_off);

    // ept::TableMemory
    ept::Slot* entries(std::uint64_t pa) {
        // The engine only walks tables it got from us.
        return reinterpret_cast<ept::Slot*>(mem_->virt_of_own(pa));
    }
    Result<std::uint64_t> alloc();
    std::size_t available() const;
    void retire(std::uint64_t pa);
    void wrote(ept::Slot*) {}

    void release_retired();
    // n frames, virtually contiguous (per-CPU blocks, metadata), zeroed.
    Result<void*> alloc_virt(std::uint64_t n);
    // n frames, physically contiguous (MSRPM/IOPM), zeroed; virtual address.
    Result<void*> alloc_contig(std::uint64_t n);
    void* virt(std::uint64_t pa) const { return reinterpret_cast<void*>(mem_->virt_of_phys(pa)); }
    std::size_t retired() const { return nretired_; }
    // Offset where the retired stack starts: the pool is [start, pool_end()).
    std::uint64_t pool_end() const { return end_; }

private:
    struct FreeFrame : boost::intrusive::slist_base_hook<
                           boost::intrusive::link_mode<boost::intrusive::normal_link>> {};
    using FreeList = boost::intrusive::slist<FreeFrame, boost::intrusive::constant_time_size<true>,
                                             boost::intrusive::linear<true>>;
    FreeList& free_list() { return *reinterpret_cast<FreeList*>(free_buf_); }
    const FreeList& free_list() const { return *reinterpret_cast<const FreeList*>(free_buf_); }
    void park(std::uint64_t pa); // onto the free list; lock held

    HypMemory* mem_ = nullptr;
    std::uint64_t next_ = 0; // offset of the next never-used frame
    std::uint64_t end_ = 0;
    alignas(FreeList) unsigned char free_buf_[sizeof(FreeList)] = {};
    std::uint32_t* retired_ = nullptr; // offset / page of each retired frame
    std::size_t nretired_ = 0;
    std::size_t capacity_ = 0; // of retired_: every frame the pool can hand out
    SpinLock lock_;
};

static_assert(ept::TableMemory<HypFrames>);

} // namespace vbh::image
