#include <vbh/image/memory.hpp>

#include <cstring>
#include <new>

namespace vbh::image {

// The loader's ranges do not overlap (it reserved each one), so sorting them by base
// makes virt_of_phys() a binary search. At most VBH_MAX_HYP_RANGES: insertion sort.
void HypMemory::init(const vbh_boot_record& br) {
    virt_ = br.hyp_virt_base;
    size_ = br.hyp_size;
    nr_ = br.nr_hyp_ranges;
    std::uint64_t off = 0;
    for (std::uint32_t i = 0; i < nr_; ++i) {
        ranges_[i] = br.hyp_ranges[i];
        Span s{ranges_[i].base, ranges_[i].size, virt_ + off};
        off += ranges_[i].size;
        std::uint32_t k = i;
        for (; k > 0 && by_base_[k - 1].base > s.base; --k)
            by_base_[k] = by_base_[k - 1];
        by_base_[k] = s;
    }
}

std::uint64_t HypMemory::phys_of_offset(std::uint64_t off) const {
    for (std::uint32_t i = 0; i < nr_; ++i) {
        if (off < ranges_[i].size)
            return ranges_[i].base + off;
        off -= ranges_[i].size;
    }
    return ~0ull;
}

void HypFrames::init(HypMemory& mem, std::uint64_t start_off, std::uint64_t end_off) {
    mem_ = &mem;
    new (free_buf_) FreeList;
    // The retired stack: one 32-bit frame number per pool frame, from the pool's end.
    const std::uint64_t frames = end_off > start_off ? (end_off - start_off) / page : 0;
    const std::uint64_t stack_frames = (frames * sizeof(std::uint32_t) + page - 1) / page;
    end_ = start_off + (frames - stack_frames) * page;
    next_ = start_off;
    retired_ = reinterpret_cast<std::uint32_t*>(mem_->virt_base() + end_);
    capacity_ = frames - stack_frames;
    nretired_ = 0;
}

void HypFrames::park(std::uint64_t pa) {
    free_list().push_front(*new (virt(pa)) FreeFrame);
}

Result<std::uint64_t> HypFrames::alloc() {
    std::uint64_t pa;
    {
        LockGuard g{lock_};
        if (!free_list().empty()) {
            FreeFrame& f = free_list().front();
            free_list().pop_front();
            pa = mem_->phys(&f);
        } else {
            if (next_ >= end_)
                return unexpected(Status::no_memory);
            pa = mem_->phys_of_offset(next_);
            next_ += page;
        }
    }
    std::memset(virt(pa), 0, page); // the link too
    return pa;
}

std::size_t HypFrames::available() const {
    return std::size_t((end_ - next_) / page) + free_list().size();
}

// Only frames alloc() gave out are retired, each at most once before the next release:
// the stack, one slot per pool frame, cannot overflow.
void HypFrames::retire(std::uint64_t pa) {
    const std::uint64_t va = mem_->virt_of_phys(pa);
    LockGuard g{lock_};
    if (va == 0 || nretired_ == capacity_)
        __builtin_trap(); // not ours, or retired twice: the table engine is broken
    retired_[nretired_++] = std::uint32_t((va - mem_->virt_base()) / page);
}

void HypFrames::release_retired() {
    LockGuard g{lock_};
    while (nretired_ > 0)
        park(mem_->phys_of_offset(std::uint64_t(retired_[--nretired_]) * page));
}

Result<void*> HypFrames::alloc_virt(std::uint64_t n) {
    LockGuard g{lock_};
    if (n > (end_ - next_) / page)
        return unexpected(Status::no_memory);
    void* v = reinterpret_cast<void*>(mem_->virt_base() + next_);
    next_ += n * page;
    std::memset(v, 0, n * page);
    return v;
}

Result<void*> HypFrames::alloc_contig(std::uint64_t n) {
    LockGuard g{lock_};
    for (std::uint64_t off = next_; off + n * page <= end_; off += page) {
        const std::uint64_t first = mem_->phys_of_offset(off);
        bool contiguous = true;
        for (std::uint64_t i = 1; i < n && contiguous; ++i)
            contiguous = mem_->phys_of_offset(off + i * page) == first + i * page;
        if (!contiguous)
            continue;
        // Frames skipped to reach a contiguous run go to the free list.
        for (std::uint64_t s = next_; s < off; s += page)
            park(mem_->phys_of_offset(s));
        next_ = off + n * page;
        void* v = reinterpret_cast<void*>(mem_->virt_base() + off);
        std::memset(v, 0, n * page);
        return v;
    }
    return unexpected(Status::no_memory);
}

} // namespace vbh::image
