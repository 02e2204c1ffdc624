// FrameTable: the flat ownership map, one FrameMeta (16 bits) per 4 KiB frame from pfn 0
// to the end of RAM: 512 KiB of metadata per GiB covered (0.05 %). The storage comes
// from the caller (hypervisor pool on target, a test buffer hosted); no heap.
#pragma once

#include <vbh/frame.hpp>
#include <vbh/frame_state.hpp>

#include <vbh/nospec.hpp>

#include <cstdint>

namespace vbh {

class FrameTable {
public:
    static constexpr std::uint64_t bytes_per_frame = sizeof(FrameMeta);
    static constexpr std::uint64_t bytes_per_gib = bytes_per_frame * ((std::uint64_t(1) << 30) >> frame_shift);
    static constexpr std::uint64_t bytes_for(std::uint64_t frames) { return frames * bytes_per_frame; }

    // Covers pfns [0, frames), all Owner::none until add_ram(). Storage must be
    // 2-byte aligned and hold bytes_for(frames).
    Result<void> attach(void* storage, std::uint64_t storage_bytes, std::uint64_t frames);
    // Boot-time set-up: RAM becomes host-owned, then hypervisor memory is claimed.
    Result<void> add_ram(FrameRange r);
    Result<void> claim_hypervisor(FrameRange r);

    std::uint64_t frames() const { return frames_; }
    // p is often the host's: masked after the bounds check (nospec.hpp).
    FrameMeta at(Pfn p) const {
        return p.value < frames_ ? meta_[index_nospec(p.value, frames_)] : FrameMeta{};
    }

    // Status::range if any frame of r is not RAM (hole, MMIO, beyond the map).
    Status check_ram(FrameRange r) const;
    // Status::state if any frame of r is in a state t does not accept (r is RAM).
    Status check(Transition t, FrameRange r, DomainId dom) const;
    // Moves every frame of r through t; r was accepted by check_ram() and check().
    void apply(Transition t, FrameRange r, DomainId dom);
    // The first maximal run of frames equal to m in [from, end); count 0 if none.
    FrameRange next_run(Pfn from, FrameMeta m, std::uint64_t end = ~std::uint64_t(0)) const;

private:
    FrameMeta* meta_ = nullptr;
    std::uint64_t frames_ = 0;
};

static_assert(FrameTable::bytes_per_gib == 512 * 1024);

} // namespace vbh
