// FramePool<N>: a TableMemory over N page-aligned frames held in the object itself (put
// it in the hypervisor's .bss, or on the heap in tests). Physical address = virtual
// address + phys_offset (the hypervisor image is mapped at one fixed offset). Not
// thread-safe: the owner serialises alloc/retire/release with its table writes.
#pragma once

#include <ept/format.hpp>
#include <ept/memory.hpp>

#include <vbh/result.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::ept {

template <std::size_t N>
class FramePool {
public:
    explicit FramePool(std::int64_t phys_offset = 0) : offset_{phys_offset}
    {
        for (std::size_t i = 0; i < N; ++i) free_[i] = static_cast<std::uint32_t>(N - 1 - i);
        nfree_ = N;
    }
    FramePool(const FramePool&) = delete;
    FramePool& operator=(const FramePool&) = delete;

    Slot* entries(std::uint64_t pa) { return frames_[index_of(pa)].e; }

    Result<std::uint64_t> alloc()
    {
        if (nfree_ == 0) return unexpected(Status::no_memory);
        const std::uint32_t i = free_[--nfree_];
        for (Slot& s : frames_[i].e) s.store(0, std::memory_order_relaxed);
        return phys_of(i);
    }

    std::size_t available() const { return nfree_; }
    void retire(std::uint64_t pa) { retired_[nretired_++] = index_of(pa); }
    void wrote(Slot*) {}

    // After the flush a Change asked for: retired frames become allocatable again.
    std::size_t release_retired()
    {
        const std::size_t n = nretired_;
        while (nretired_ > 0) free_[nfree_++] = retired_[--nretired_];
        return n;
    }
    std::size_t retired() const { return nretired_; }

    // Return a frame that never held a live table (e.g. an unused root).
    void free(std::uint64_t pa) { free_[nfree_++] = index_of(pa); }

    // Every frame free again; whatever tables were built from them are abandoned (a
    // fuzzer's per-input reset: constructing the pool anew zeroes all N frames, alloc()
    // zeroes the frames it hands out).
    void reset()
    {
        for (std::size_t i = 0; i < N; ++i) free_[i] = static_cast<std::uint32_t>(N - 1 - i);
        nfree_ = N;
        nretired_ = 0;
    }

    bool owns(std::uint64_t pa) const
    {
        const std::uint64_t base = phys_of(0);
        return pa >= base && pa - base < N * frame_size && (pa & (frame_size - 1)) == 0;
    }

private:
    struct alignas(4096) Frame {
        Slot e[entries_per_table];
    };

    std::uint64_t phys_of(std::uint32_t i) const
    {
        return reinterpret_cast<std::uint64_t>(&frames_[i]) + static_cast<std::uint64_t>(offset_);
    }
    std::uint32_t index_of(std::uint64_t pa) const
    {
        if (!owns(pa)) __builtin_trap();
        return static_cast<std::uint32_t>((pa - phys_of(0)) / frame_size);
    }

    Frame frames_[N];
    std::uint32_t free_[N];
    std::uint32_t retired_[N];
    std::size_t nfree_ = 0;
    std::size_t nretired_ = 0;
    std::int64_t offset_;
};

static_assert(TableMemory<FramePool<1>>);

} // namespace vbh::ept
