// IOMMU ownership on target, VT-d or AMD-Vi (vbh/image/iommu.hpp, docs/iommu.md).
#include <vbh/arch/serial.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/image/iommu.hpp>

namespace vbh::image {

namespace amdvi = iommu::amdvi;

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
    frames += 8 * (g.br.nr_dmar_units + g.br.nr_amdvi_units + g.mem.nr_ranges()) + 16;
    return frames + vbh_split_reserve_frames(ram_bytes(g.br));
}

bool iommu_register_page(std::uint64_t pa) {
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        const RegWindow& w = iommu.regs[i];
        if (pa >= w.base && pa < w.base + std::uint64_t(w.pages) * page)
            return true;
    }
    return false;
}

// The units' register windows from the boot record: the DRHDs of the DMAR table, or
// the IVHDs of the IVRS table (16 KiB each, AMD IOMMU spec §3.4). Never both: one
// machine has one IOMMU kind, and a boot record claiming two is not believed.
static Result<void> iommu_find_units() {
    if (g.br.nr_dmar_units > VBH_MAX_DMAR_UNITS || g.br.nr_amdvi_units > VBH_MAX_AMDVI_UNITS)
        return unexpected(Status::range);
    if (g.br.nr_dmar_units && g.br.nr_amdvi_units)
        return unexpected(Status::invalid);
    iommu.amdvi = g.br.nr_amdvi_units != 0;
    iommu.nr_units = iommu.amdvi ? g.br.nr_amdvi_units : g.br.nr_dmar_units;
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        const RegWindow w = iommu.amdvi
            ? RegWindow{g.br.amdvi_units[i].mmio_base, VBH_AMDVI_MMIO_PAGES}
            : RegWindow{g.br.dmar_units[i].reg_base, g.br.dmar_units[i].reg_pages};
        if ((w.base & (page - 1)) || w.pages == 0 || w.pages > 16 || w.base >> g.br.phys_addr_bits)
            return unexpected(Status::invalid);
        iommu.regs[i] = w;
    }
    return {};
}

Result<void> iommu_map_registers() {
    if (auto r = iommu_find_units(); !r)
        return r;
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        const RegWindow& w = iommu.regs[i];
        if (auto m = g.hpt->map(w.base, w.base, std::uint64_t(w.pages) * page,
                                ept::Attrs{ept::Perm::rw, ept::MemType::uc}); !m)
            return unexpected(m.error());
    }
    return {};
}

// VT-d: the shared root and context tables (iommu/vtd_tables.hpp), from the main pool.
static Result<void> create_vtd(VtdTable& table) {
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        iommu.units[i].emplace(MmioRegs{iommu.regs[i].base});
    auto rc = g.frames.alloc_contig(2);
    if (!rc)
        return unexpected(rc.error());
    auto* root = static_cast<std::uint64_t*>(*rc);
    iommu.root_pa = g.mem.phys(root);
    iommu.tables_bytes = 2 * page;
    iommu::fill_root_context(root, root + 512, iommu.root_pa + page, table.root(), ept::Vtd::levels);
    return {};
}

// AMD-Vi: one device table for every unit, covering every device id an IVHD names
// (boot.h vbh_amdvi_frames: the loader budgeted exactly this), each entry translating
// through the DMA table in domain vbh_domain; per unit a command buffer and an event
// log; one page of completion-wait quadwords (unit i stores at offset 8 * i). Every
// entry filters the device's interrupts but the IOAPIC's (amdvi::dte_q2_filter,
// unfilter_device: docs/iommu.md "Interrupt remapping"). All of it is hypervisor
// memory, absent from the NPT and from the DMA table.
static Result<void> create_amdvi(AmdViTable& table) {
    std::uint32_t last = 0;
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        last = g.br.amdvi_units[i].devid_last > last ? g.br.amdvi_units[i].devid_last : last;
    iommu.devtab_pages = vbh_amdvi_devtab_pages(last);
    auto dt = g.frames.alloc_contig(iommu.devtab_pages);
    auto done = g.frames.alloc_contig(1);
    if (!dt || !done)
        return unexpected(Status::no_memory);
    iommu.root_pa = g.mem.phys(*dt);
    const std::uint32_t entries = iommu.devtab_pages * (page / amdvi::dte::bytes);
    auto* dtes = static_cast<std::uint64_t*>(*dt);
    amdvi::fill_device_table(dtes, entries, table.root(), ept::AmdVi::levels, iommu::vbh_domain);
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        if (const std::uint16_t ioapic = g.br.amdvi_units[i].ioapic_devid)
            amdvi::unfilter_device(dtes, entries, ioapic);
    auto* dones = static_cast<std::uint64_t*>(*done);
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        auto cmd = g.frames.alloc_contig(1);
        auto evt = g.frames.alloc_contig(1);
        if (!cmd || !evt)
            return unexpected(Status::no_memory);
        iommu.amdvi_units[i].emplace(MmioRegs{iommu.regs[i].base},
                                     iommu::AmdViRings{static_cast<amdvi::Command*>(*cmd), g.mem.phys(*cmd),
                                                       static_cast<std::uint64_t*>(*evt), g.mem.phys(*evt),
                                                       dones + i, g.mem.phys(dones + i)});
    }
    iommu.tables_bytes = vbh_amdvi_frames(iommu.nr_units, last) * page;
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
    const ept::Attrs rw{ept::Perm::rw, ept::MemType::wb};
    if (iommu.amdvi) {
        auto t = AmdViTable::create(iommu.frames);
        if (!t)
            return unexpected(t.error());
        AmdViTable& table = iommu.amdvi_table.emplace(*t);
        iommu.stage2.emplace(iommu.amdvi_stage2.emplace(table, AmdViFlushAll{}, rw));
        return create_amdvi(table);
    }
    auto t = VtdTable::create(iommu.frames);
    if (!t)
        return unexpected(t.error());
    VtdTable& table = iommu.vtd_table.emplace(*t);
    iommu.stage2.emplace(iommu.vtd_stage2.emplace(table, VtdFlushAll{}, rw));
    return create_vtd(table);
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

// AMD-Vi: probe every unit (refuse if the host's driver runs one), then enable each on
// the shared device table. AMD-Vi table walks snoop the CPU caches (the control
// register's Coherent bit is set for the device table; page-table reads are coherent
// unless a PTE sets FC, which vbh's never do): no cache-line flushes.
static Status own_amdvi() {
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        if (const Status s = iommu.amdvi_units[i]->probe(); s != Status::ok) {
            arch::Serial::puts("vbh-hyp: AMD-Vi unit refused (host driver active)\n");
            return s;
        }
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        if (iommu.amdvi_units[i]->enable(iommu.root_pa, iommu.devtab_pages) != Status::ok)
            fatal("AMD-Vi unit did not complete enable", iommu.regs[i].base);
    return Status::ok;
}

static Status own_vtd() {
    bool coherent = true;
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        if (const Status s = iommu.units[i]->probe(ept::Vtd::levels); s != Status::ok) {
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
            fatal("VT-d unit did not complete enable", iommu.regs[i].base);
    return Status::ok;
}

static Status own_units() {
    if (iommu.owned || iommu.nr_units == 0)
        return Status::ok;
    if (const Status s = iommu.amdvi ? own_amdvi() : own_vtd(); s != Status::ok)
        return s;
    __atomic_store_n(&iommu.owned, 1, __ATOMIC_RELEASE);
    arch::Serial::puts(iommu.amdvi ? "vbh-hyp: AMD-Vi units owned: " : "vbh-hyp: VT-d units owned: ");
    arch::Serial::dec(iommu.nr_units);
    arch::Serial::put('\n');
    return Status::ok;
}

void VtdFlushAll::operator()() const {
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        if (!iommu.units[i]->invalidate_domain(iommu::vbh_domain))
            fatal("VT-d IOTLB invalidation did not complete", iommu.regs[i].base);
}

// Under the core's lock (every caller of the mirror holds it), so one CPU at a time
// writes a unit's command buffer.
void AmdViFlushAll::operator()() const {
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i)
        if (!iommu.amdvi_units[i]->invalidate_domain(iommu::vbh_domain))
            fatal("AMD-Vi invalidation did not complete", iommu.regs[i].base);
}

// Fault records (VT-d) and events (AMD-Vi) into the event log: addr = the page the
// device reached for, rip = the unit's register base, info = source id (bus:dev.fn) |
// reason << 16 | write << 24; the reason is VT-d's fault reason or AMD-Vi's event code.
void iommu_drain() {
    if (!__atomic_load_n(&iommu.owned, __ATOMIC_ACQUIRE) || !iommu.drain_lock.try_lock())
        return;
    const std::uint32_t cpu = this_cpu()->cpu;
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        auto record = [&](const iommu::DmaFault& f) {
            g.log.record(VBH_LOG_DMA_FAULT, cpu, f.addr & ~(page - 1), iommu.regs[i].base,
                         std::uint64_t(f.sid) | std::uint64_t(f.reason) << 16 |
                             std::uint64_t(f.write) << 24);
            ++this_cpu()->stats.dma_faults;
        };
        if (iommu.amdvi)
            iommu.amdvi_units[i]->drain_events(record);
        else
            iommu.units[i]->drain_faults(record);
    }
    iommu.drain_lock.unlock();
}

} // namespace vbh::image
