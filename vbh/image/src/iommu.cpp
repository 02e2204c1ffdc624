// VT-d ownership on target (vbh/image/iommu.hpp, docs/iommu.md).
#include <vbh/arch/serial.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/image/iommu.hpp>

namespace vbh::image {

Iommu iommu;

// The DMA table's pool: the tables of the identity view init builds (a directory per
// GiB of each RAM range and the splits at its ends, the splits around the register and
// hypervisor ranges) plus the same split reserve the host NPT keeps free
// (vbh_split_reserve_frames, boot.h). The mirror repeats every NPT edit, so it needs
// what the NPT needs; a donation neither can cover is refused by reserve() with
// Status::no_memory before either table changes (Stage2Mirror, all or nothing).
// Before issue 15 this pool could split every RAM frame to 4 KiB: 2 MiB per GiB.
std::uint64_t dma_pool_frames() {
    std::uint64_t frames = 0;
    for (std::uint32_t i = 0; i < g.br.nr_ram_ranges; ++i)
        frames += (g.br.ram_ranges[i].size >> ept::shift(2)) + 3;
    frames += 8 * (g.br.nr_dmar_units + g.mem.nr_ranges()) + 16;
    return frames + vbh_split_reserve_frames(ram_bytes(g.br));
}

bool iommu_register_page(std::uint64_t pa) {
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        const auto& u = g.br.dmar_units[i];
        if (pa >= u.reg_base && pa < u.reg_base + std::uint64_t(u.reg_pages) * page)
            return true;
    }
    return false;
}

Result<void> iommu_map_registers() {
    if (g.br.nr_dmar_units > VBH_MAX_DMAR_UNITS)
        return unexpected(Status::range);
    for (std::uint32_t i = 0; i < g.br.nr_dmar_units; ++i) {
        const auto& u = g.br.dmar_units[i];
        if ((u.reg_base & (page - 1)) || u.reg_pages == 0 || u.reg_pages > 16 ||
            u.reg_base >> g.br.phys_addr_bits)
            return unexpected(Status::invalid);
        const std::uint64_t bytes = std::uint64_t(u.reg_pages) * page;
        if (auto m = g.hpt->map(u.reg_base, u.reg_base, bytes, ept::Attrs{ept::Perm::rw, ept::MemType::uc}); !m)
            return unexpected(m.error());
        iommu.units[i].emplace(MmioRegs{u.reg_base});
    }
    iommu.nr_units = g.br.nr_dmar_units;
    return {};
}

Result<void> iommu_create_table() {
    const std::uint64_t n = dma_pool_frames();
    auto pool = g.frames.alloc_virt(n);
    if (!pool)
        return unexpected(pool.error());
    const std::uint64_t off = reinterpret_cast<std::uint64_t>(*pool) - g.mem.virt_base();
    iommu.frames.init(g.mem, off, off + n * page);
    iommu.pool = *pool;
    iommu.pool_bytes = n * page;
    auto t = DmaTable::create(iommu.frames);
    if (!t)
        return unexpected(t.error());
    DmaTable& table = iommu.table.emplace(*t);
    iommu.stage2.emplace(table, VtdFlushAll{}, ept::Attrs{ept::Perm::rw, ept::MemType::wb});
    // Root and context tables (iommu/vtd_tables.hpp), from the main pool.
    auto rc = g.frames.alloc_contig(2);
    if (!rc)
        return unexpected(rc.error());
    auto* root = static_cast<std::uint64_t*>(*rc);
    iommu.root_pa = g.mem.phys(root);
    iommu::fill_root_context(root, root + 512, iommu.root_pa + page, table.root(), DmaFormat::levels);
    return {};
}

// At seal, on the hypervisor's page tables. All or nothing: a unit that cannot be
// owned leaves every unit as it was (none has been enabled yet when probes fail).
// Serialised: two CPUs sealing at once must not both program the units.
static Status own_units();

Status iommu_own() {
    static SpinLock lock;
    lock.lock();
    const Status s = own_units();
    lock.unlock();
    return s;
}

static Status own_units() {
    if (iommu.owned || iommu.nr_units == 0)
        return Status::ok;
    bool coherent = true;
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        if (const Status s = iommu.units[i]->probe(DmaFormat::levels); s != Status::ok) {
            arch::Serial::puts("vbh-hyp: VT-d unit refused (host driver active or no 4-level tables)\n");
            return s;
        }
        coherent &= iommu.units[i]->coherent();
    }
    // Tables written so far are pushed out once; later writes one line at a time.
    iommu.frames.set_coherent(coherent);
    if (!coherent) {
        iommu::flush_range(iommu.pool, iommu.pool_bytes);
        iommu::flush_range(g.frames.virt(iommu.root_pa), 2 * page);
    }
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        if (iommu.units[i]->enable(iommu.root_pa) != Status::ok)
            fatal("VT-d unit did not complete enable", g.br.dmar_units[i].reg_base);
    __atomic_store_n(&iommu.owned, 1, __ATOMIC_RELEASE);
    arch::Serial::puts("vbh-hyp: VT-d units owned: ");
    arch::Serial::dec(iommu.nr_units);
    arch::Serial::put('\n');
    return Status::ok;
}

void VtdFlushAll::operator()() const {
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        if (!iommu.units[i]->invalidate_domain(iommu::vbh_domain))
            fatal("VT-d IOTLB invalidation did not complete", g.br.dmar_units[i].reg_base);
}

// Fault records into the event log: addr = the page the device reached for, rip = the
// unit's register base, info = source id (bus:dev.fn) | reason << 16 | write << 24.
void iommu_drain() {
    if (!__atomic_load_n(&iommu.owned, __ATOMIC_ACQUIRE) || !iommu.drain_lock.try_lock())
        return;
    const std::uint32_t cpu = this_cpu()->cpu;
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        iommu.units[i]->drain_faults([&](const iommu::DmaFault& f) {
            g.log.record(VBH_LOG_DMA_FAULT, cpu, f.addr, g.br.dmar_units[i].reg_base,
                         std::uint64_t(f.sid) | std::uint64_t(f.reason) << 16 |
                             std::uint64_t(f.write) << 24);
            ++this_cpu()->stats.dma_faults;
        });
    iommu.drain_lock.unlock();
}

} // namespace vbh::image
