// Hypervisor memory: the physically scattered chunks the loader reserved (hyp_ranges),
// mapped back to back at hyp_virt_base both in the kernel (vmap) and in the
// hypervisor's own tables (boot.h). HypMemory translates between the two views;
// HypFrames is the bounded frame pool over the part after the boot record, and the
// TableMemory (ept/memory.hpp) that every page table of the hypervisor lives in.
#pragma once

#include <ept/memory.hpp>
#include <vbh/boot.h>
#include <vbh/result.hpp>
#include <vbh/spinlock.hpp>

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
    // Physical -> hypervisor virtual, or 0 if pa is not hypervisor memory.
    std::uint64_t virt_of_phys(std::uint64_t pa) const;
    bool contains_phys(std::uint64_t pa) const { return virt_of_phys(pa) != 0; }
    std::uint32_t nr_ranges() const { return nr_; }
    const vbh_mem_range& range(std::uint32_t i) const { return ranges_[i]; }

private:
    std::uint64_t virt_ = 0;
    std::uint64_t size_ = 0;
    std::uint32_t nr_ = 0;
    vbh_mem_range ranges_[VBH_MAX_HYP_RANGES] = {};
};

// Frames come from a bump pointer over [start, end) of hypervisor memory and, once
// freed or released after a flush, from a free stack. Page tables retired by the
// engine wait in `retired_` until the caller has flushed every CPU (memory.hpp).
class HypFrames {
public:
    static constexpr std::size_t max_parked = 1024;

    void init(HypMemory& mem, std::uint64_t start_off, std::uint64_t end_off);

    // ept::TableMemory
    ept::Slot* entries(std::uint64_t pa);
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

private:
    HypMemory* mem_ = nullptr;
    std::uint64_t next_ = 0; // offset of the next never-used frame
    std::uint64_t end_ = 0;
    std::uint64_t free_[max_parked] = {};
    std::size_t nfree_ = 0;
    std::uint64_t retired_[max_parked] = {};
    std::size_t nretired_ = 0;
    SpinLock lock_;
};

static_assert(ept::TableMemory<HypFrames>);

} // namespace vbh::image
