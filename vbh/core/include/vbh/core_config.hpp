// CoreConfig: what the image hands the core at init, straight from the boot record.
#pragma once

#include <vbh/boot.h>
#include <vbh/frame_table.hpp>

#include <cstdint>

namespace vbh {

struct CoreConfig {
    void* meta;                  // FrameTable storage, in hypervisor memory
    std::uint64_t meta_bytes;    // >= meta_bytes_for(ram, nr_ram)
    const vbh_mem_range* ram;    // "System RAM", sorted, non-overlapping
    std::uint32_t nr_ram;
    const vbh_mem_range* hyp;    // the hypervisor's own memory (boot record hyp_ranges)
    std::uint32_t nr_hyp;
    void* gfn_pool = nullptr;    // GfnMap storage (4 KiB aligned), in hypervisor memory
    std::uint64_t gfn_pool_bytes = 0; // 0: no private memory (GUEST_DONATE: E_NO_MEMORY)
};

// Frames the ownership map covers: pfn 0 to the end of the highest RAM range.
std::uint64_t frames_covered(const vbh_mem_range* ram, std::uint32_t nr_ram);

constexpr std::uint64_t meta_bytes_for(std::uint64_t frames) { return FrameTable::bytes_for(frames); }

// Attach the map to cfg.meta, mark RAM host-owned and cfg.hyp hypervisor-owned. The
// host's nested page table must at this point map all RAM except cfg.hyp.
Result<void> init_frame_table(FrameTable& table, const CoreConfig& cfg);

} // namespace vbh
