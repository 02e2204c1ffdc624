// The layout report (boot.h, vbh_hyp_layout): where each kind of hypervisor state
// lives, written into the loader's boot record once init() has built it all. The
// loader shows it (sysfs hyp_layout); the containment suite attacks every kind.
#include <vbh/image/hyp.hpp>

extern "C" char __image_start[], __image_end[];

namespace vbh::image {

namespace {

// The physically contiguous frames at the start of [p, p + bytes).
vbh_layout_entry entry(const void* p, std::uint64_t bytes) {
    const auto va = reinterpret_cast<std::uint64_t>(p) & ~(page - 1);
    const std::uint64_t end = reinterpret_cast<std::uint64_t>(p) + bytes;
    const std::uint64_t pa = g.mem.phys(reinterpret_cast<const void*>(va));
    std::uint64_t n = 1;
    while (va + n * page < end &&
           g.mem.phys(reinterpret_cast<const void*>(va + n * page)) == pa + n * page)
        ++n;
    return {pa >> 12, n};
}

} // namespace

void report_layout(vbh_hyp_layout& out, const void* frame_table, std::uint64_t table_bytes) {
    CpuBlock* b = g.cpus[0]->block;
    out.kind[VBH_LAYOUT_IMAGE] = entry(__image_start, std::uint64_t(__image_end - __image_start));
    out.kind[VBH_LAYOUT_LOG] = entry(&g.log, sizeof g.log);
    out.kind[VBH_LAYOUT_STACK] = entry(b->stack, sizeof b->stack);
    out.kind[VBH_LAYOUT_PERCPU] = entry(&b->cpu, sizeof b->cpu);
    out.kind[VBH_LAYOUT_CONTROL_BLOCKS] = entry(&b->hw, sizeof b->hw);
    out.kind[VBH_LAYOUT_NPT_ROOT] = {g.npt_table->root() >> 12, 1};
    out.kind[VBH_LAYOUT_HYP_PT_ROOT] = {g.hpt->root() >> 12, 1};
    out.kind[VBH_LAYOUT_FRAME_TABLE] = entry(frame_table, table_bytes);
}

} // namespace vbh::image
