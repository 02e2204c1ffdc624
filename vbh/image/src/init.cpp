// init(): once, on one CPU, in kernel context (boot.h). Relocate, check the boot
// record, then build everything the CPUs need before any launch: the frame pool, the
// backend's shared state (SVM: the permission maps), per-CPU blocks, the hypervisor's page tables, the host NPT and
// its DMA mirror (the IOMMU units are only enabled at seal), the core's ownership map. Touches only hypervisor memory and reads MSRs/CPUID.
#include <vbh/arch/desc.hpp>
#include <vbh/arch/serial.hpp>
#include <vbh/core_config.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/image/iommu.hpp>
#include <vbh/image/paging.hpp>

#include <cstring>

extern "C" char __image_start[], __bss_start[], __image_end[];
extern "C" char vbh_isr_table[];

namespace vbh::image {

bool relocate_self();
void report_layout(vbh_hyp_layout& out, const void* frame_table, std::uint64_t table_bytes);

// The loader budgets VBH_PERCPU_FRAMES per CPU (boot.h): the block, the cycles page and
// what the backend's setup() takes (SVM: the nested MSRPM and IOPM, 5 frames, and the
// shadow NPT's pool).
static_assert(cpu_block_pages + 1 + 5 + svm::shadow_pool_pages <= VBH_PERCPU_FRAMES);

// Hypervisor memory by part (boot.h, vbh_footprint): each build step's part is what
// it took from the pool, the pool's free count before it minus after it.
static vbh_footprint footprint{};
static std::uint64_t pool_mark = 0;

static void took(vbh_footprint_part part) {
    const std::uint64_t now = g.frames.available();
    footprint.bytes[part] += (pool_mark - now) * page;
    pool_mark = now;
}

// The ownership table's memory, for the layout report.
static const void* frame_table = nullptr;
static std::uint64_t frame_table_bytes = 0;

// In .data, not .bss: the loader copies .data from the file but need not zero .bss
// before init, which zeroes it itself.
[[gnu::section(".data")]] static std::uint32_t init_called = 0;

static Status check_boot_record(const vbh_boot_record& br) {
    if (br.magic != VBH_BOOT_MAGIC || br.abi_version != VBH_ABI_VERSION)
        return Status::invalid;
    if (br.hyp_virt_base != reinterpret_cast<std::uint64_t>(__image_start))
        return Status::invalid;
    if (br.nr_hyp_ranges == 0 || br.nr_hyp_ranges > VBH_MAX_HYP_RANGES ||
        br.nr_ram_ranges == 0 || br.nr_ram_ranges > VBH_MAX_RAM_RANGES ||
        br.nr_cpus == 0 || br.nr_cpus > VBH_MAX_CPUS)
        return Status::range;
    if (br.phys_addr_bits < 32 || br.phys_addr_bits > 52)
        return Status::range;
    if (br.out_count == 0 || br.out_count > VBH_MAX_OUT_FRAMES ||
        br.out_pfn + br.out_count < br.out_pfn)
        return Status::range;
    std::uint64_t total = 0;
    for (std::uint32_t i = 0; i < br.nr_hyp_ranges; ++i) {
        if ((br.hyp_ranges[i].base | br.hyp_ranges[i].size) & (page - 1))
            return Status::invalid;
        total += br.hyp_ranges[i].size;
    }
    const std::uint64_t image = std::uint64_t(__image_end - __image_start);
    if (total != br.hyp_size || br.boot_record_offset < image ||
        br.boot_record_offset + sizeof br > br.hyp_size)
        return Status::range;
    for (std::uint32_t i = 0; i < br.nr_ram_ranges; ++i)
        if (((br.ram_ranges[i].base | br.ram_ranges[i].size) & (page - 1)) ||
            br.ram_ranges[i].base + br.ram_ranges[i].size > (1ull << 46))
            return Status::range; // the direct map is VA = PA in the lower half
    return Status::ok;
}

static void build_idt() {
    const auto base = reinterpret_cast<std::uint64_t>(vbh_isr_table);
    for (unsigned v = 0; v < 32; ++v) {
        const unsigned ist = v == 2 ? 1 : v == 8 ? 2 : v == 18 ? 3 : 0;
        g.idt[v] = arch::IdtGate::make(base + 16 * v, sel_code, ist);
    }
}

static Result<void> setup_cpus() {
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i) {
        auto frames = g.frames.alloc_virt(cpu_block_pages);
        if (!frames)
            return unexpected(frames.error());
        auto cycles = g.frames.alloc_virt(1);
        if (!cycles)
            return unexpected(cycles.error());
        auto* block = static_cast<CpuBlock*>(*frames);
        PerCpu* pc = &block->cpu;
        pc->self = pc;
        pc->block = block;
        pc->cycles = static_cast<vbh_cpu_cycles*>(*cycles);
        pc->cycles->version = VBH_CYCLES_VERSION;
        pc->cycles->cpu = i;
        pc->cpu = i;
        BackendMemory mem;
        Backend::setup(pc->hw, block->hw, mem);
        g.cpus[i] = pc;
    }
    return {};
}

Result<void*> BackendMemory::alloc_contig(std::uint64_t n) { return g.frames.alloc_contig(n); }
std::uint64_t BackendMemory::phys(const void* p) const { return g.mem.phys(p); }

// The backend's shared state: the CPU must support it; then what it keeps for every
// CPU (SVM: the permission maps).
static Result<void> setup_backend() {
    if (const Status s = Backend::check_cpu(); s != Status::ok)
        return unexpected(s);
    BackendMemory mem;
    g.ports = PlatformPorts::from(g.br);
    return Backend::init(mem, g.ports);
}

// The gfn records of private guest memory (vbh/gfn_map.hpp), in the image's .bss, so
// that the loader's size of the image counts them: 256 nodes (1 MiB) hold about
// 250 MiB of densely donated private memory; beyond it GUEST_DONATE answers
// VBH_E_NO_MEMORY.
inline constexpr std::uint32_t gfn_pool_nodes = 256;
alignas(4096) static unsigned char gfn_pool[GfnMap::bytes_for(gfn_pool_nodes)];

static Result<void> setup_core() {
    const std::uint64_t bytes = meta_bytes_for(frames_covered(g.br.ram_ranges, g.br.nr_ram_ranges));
    auto meta = g.frames.alloc_virt((bytes + page - 1) / page);
    if (!meta)
        return unexpected(meta.error());
    frame_table = *meta;
    frame_table_bytes = bytes;
    CoreT& core = g.core.emplace(*g.npt, g.direct);
    return core.init(CoreConfig{*meta, bytes, g.br.ram_ranges, g.br.nr_ram_ranges, g.br.hyp_ranges,
                                g.br.nr_hyp_ranges, gfn_pool, sizeof gfn_pool});
}

static Result<void> build() {
    pool_mark = g.frames.available();
    if (auto r = setup_backend(); !r)
        return r;
    took(VBH_FOOTPRINT_BACKEND);
    if (auto r = setup_cpus(); !r)
        return r;
    took(VBH_FOOTPRINT_PERCPU);
    footprint.bytes[VBH_FOOTPRINT_STATS] = g.br.nr_cpus * page; // the cycles pages
    footprint.bytes[VBH_FOOTPRINT_PERCPU] -= g.br.nr_cpus * page;
    if (auto r = build_hyp_tables(); !r)
        return r;
    if (auto r = iommu_map_registers(); !r)
        return r;
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i)
        if (auto r = unmap_guard(&g.cpus[i]->block->guard); !r)
            return r;
    took(VBH_FOOTPRINT_HYP_TABLES);
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i)
        g.cpus[i]->host_cr3 = g.hpt->root();
    if (auto r = build_host_npt(); !r)
        return r;
    took(VBH_FOOTPRINT_NPT);
    footprint.bytes[VBH_FOOTPRINT_DMA] = iommu.pool_bytes + iommu.tables_bytes;
    footprint.bytes[VBH_FOOTPRINT_NPT] -= iommu.pool_bytes + iommu.tables_bytes;
    if (auto r = setup_core(); !r)
        return r;
    took(VBH_FOOTPRINT_FRAME_TABLE);
    return {};
}

// Both stage-2 tables must start with their split reserve free (boot.h): less, and a
// donation the sizing promises could be refused.
static Status check_reserve() {
    const std::uint64_t need = vbh_split_reserve_frames(ram_bytes(g.br));
    if (g.frames.available() >= need && iommu.frames.available() >= need)
        return Status::ok;
    arch::Serial::puts("vbh-hyp: init failed: free table frames (NPT, DMA) ");
    arch::Serial::dec(g.frames.available());
    arch::Serial::put(' ');
    arch::Serial::dec(iommu.frames.available());
    arch::Serial::puts(" below the split reserve ");
    arch::Serial::dec(need);
    arch::Serial::put('\n');
    return Status::no_memory;
}

// The parts build() did not measure: the image and the log, the boot record, the
// retired stack HypFrames::init carved from the pool's end, the free pool.
static void report_footprint(vbh_footprint& out, std::uint64_t pool_start) {
    footprint.bytes[VBH_FOOTPRINT_LOG] = sizeof g.log;
    footprint.bytes[VBH_FOOTPRINT_IMAGE] = g.br.boot_record_offset - sizeof g.log;
    footprint.bytes[VBH_FOOTPRINT_BOOT_RECORD] = pool_start - g.br.boot_record_offset;
    footprint.bytes[VBH_FOOTPRINT_RETIRED] = g.br.hyp_size - g.frames.pool_end();
    footprint.bytes[VBH_FOOTPRINT_POOL] = g.frames.available() * page;
    out = footprint;
}

Status init(vbh_boot_record* br) {
    if (!relocate_self())
        return Status::invalid;
    if (__atomic_exchange_n(&init_called, 1, __ATOMIC_SEQ_CST))
        return Status::state;
    std::memset(__bss_start, 0, std::size_t(__image_end - __bss_start));
    if (const Status s = check_boot_record(*br); s != Status::ok)
        return s;
    std::memcpy(&g.br, br, sizeof g.br);
    g.mem.init(g.br);
    const std::uint64_t pool = (g.br.boot_record_offset + sizeof g.br + page - 1) & ~(page - 1);
    g.frames.init(g.mem, pool, g.br.hyp_size);
    build_idt();
    if (auto r = build(); !r) {
        arch::Serial::puts("vbh-hyp: init failed\n");
        return r.error();
    }
    if (const Status s = check_reserve(); s != Status::ok)
        return s;
    report_layout(br->layout, frame_table, frame_table_bytes);
    report_footprint(br->footprint, pool);
    arch::Serial::puts("vbh-hyp: init ok, pool frames left ");
    arch::Serial::dec(g.frames.available());
    arch::Serial::put('\n');
    __atomic_store_n(&g.initialized, 1, __ATOMIC_RELEASE);
    return Status::ok;
}

} // namespace vbh::image
