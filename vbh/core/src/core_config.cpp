#include <vbh/core_config.hpp>

namespace vbh {
namespace {

Result<FrameRange> to_frames(const vbh_mem_range& m) {
    if (m.base % frame_bytes != 0 || m.size % frame_bytes != 0)
        return unexpected(Status::invalid);
    return make_range(m.base >> frame_shift, m.size >> frame_shift);
}

} // namespace

std::uint64_t frames_covered(const vbh_mem_range* ram, std::uint32_t nr_ram) {
    std::uint64_t end = 0;
    for (std::uint32_t i = 0; i < nr_ram; ++i) {
        std::uint64_t e = (ram[i].base + ram[i].size) >> frame_shift;
        end = e > end ? e : end;
    }
    return end;
}

Result<void> init_frame_table(FrameTable& table, const CoreConfig& cfg) {
    if (cfg.nr_ram > VBH_MAX_RAM_RANGES || cfg.nr_hyp > VBH_MAX_HYP_RANGES)
        return unexpected(Status::invalid);
    if (auto r = table.attach(cfg.meta, cfg.meta_bytes, frames_covered(cfg.ram, cfg.nr_ram)); !r)
        return r;
    for (std::uint32_t i = 0; i < cfg.nr_ram; ++i) {
        auto range = to_frames(cfg.ram[i]);
        if (!range)
            return unexpected(range.error());
        if (auto r = table.add_ram(*range); !r)
            return r;
    }
    for (std::uint32_t i = 0; i < cfg.nr_hyp; ++i) {
        auto range = to_frames(cfg.hyp[i]);
        if (!range)
            return unexpected(range.error());
        if (auto r = table.claim_hypervisor(*range); !r)
            return r;
    }
    return {};
}

} // namespace vbh
