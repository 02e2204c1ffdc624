// TableMemory: the engine's only way to reach table frames (the memory seam).
//
//   entries(pa)  the 512 entries of the 4 KiB table frame at physical address pa
//   alloc()      a zeroed 4 KiB frame for a new table, or Status::no_memory
//   available()  how many alloc() calls will still succeed; the engine checks this
//                against the exact need before it changes anything
//   retire(pa)   a table the engine has unlinked. Hardware walkers (other CPUs, their
//                paging-structure caches, the IOMMU) may still read it until the caller
//                has done the flush Change::flush asks for; only then may the caller
//                reuse the frame. FramePool keeps retired frames until release_retired().
//   wrote(e)     called after every store or compare-and-swap to an entry. A no-op for
//                cache-coherent walkers; a VT-d unit without ECAP.C (non-coherent page
//                walks, VT-d §6.3) needs the cache line flushed here; tests record here.
//
// Concurrency: one writer per table at a time (the caller serialises map/unmap/protect/
// merge on one Table); lookups and hardware walks may run concurrently with it.
#pragma once

#include <vbh/result.hpp>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>

namespace vbh::ept {

using Slot = std::atomic<std::uint64_t>;

static_assert(Slot::is_always_lock_free && sizeof(Slot) == 8,
    "entries are updated with single 64-bit stores and CMPXCHG");

template <class M>
concept TableMemory = requires(M& m, std::uint64_t pa, Slot* e) {
    { m.entries(pa) } -> std::same_as<Slot*>;
    { m.alloc() } -> std::same_as<Result<std::uint64_t>>;
    { m.available() } -> std::convertible_to<std::size_t>;
    { m.retire(pa) } -> std::same_as<void>;
    { m.wrote(e) } -> std::same_as<void>;
};

} // namespace vbh::ept
