// The hypervisor's side of the IOMMU driver (iommu/): the DMA remapping table every
// host device goes through, kept equal to the host NPT as a mirror in HostNpt
// (stage2.hpp), and the units that walk it (docs/iommu.md): the VT-d units of the DMAR
// table, or the AMD-Vi units of the IVRS table, whichever the boot record lists (a
// machine has one kind; both is refused). The table's format follows: a VT-d
// second-level table or an AMD-Vi v1 page table, one EitherStage2 mirror either way.
//   init:  iommu_map_registers() maps each unit's register pages (UC) in the
//          hypervisor's tables; build_host_npt() builds the DMA table next to the NPT,
//          both without those pages (a host access is an NPF: refused and logged).
//   seal:  iommu_own() checks every unit is free, points it at vbh's root table (VT-d)
//          or device table (AMD-Vi) and enables translation; before that the host may still DMA anywhere, as it
//          could before insmod (the loader is running and no domain exists yet).
//   after: every host stage-2 change reaches the DMA table and VtdFlushAll /
//          AmdViFlushAll waits for every unit's invalidation; iommu_drain() moves fault
//          records (VT-d) and events (AMD-Vi) to the log.
#pragma once

#include <ept/ept.hpp>
#include <iommu/amdvi_unit.hpp>
#include <iommu/vtd_tables.hpp>
#include <iommu/vtd_unit.hpp>
#include <vbh/either_stage2.hpp>
#include <vbh/engine_stage2.hpp>
#include <vbh/image/lazy.hpp>
#include <vbh/image/memory.hpp>

namespace vbh::image {

// Uncached MMIO through the hypervisor's own page tables (VA = PA, mapped UC).
struct MmioRegs {
    std::uint64_t base;
    std::uint32_t read32(unsigned off) { return *reinterpret_cast<volatile std::uint32_t*>(base + off); }
    std::uint64_t read64(unsigned off) { return *reinterpret_cast<volatile std::uint64_t*>(base + off); }
    void write32(unsigned off, std::uint32_t v) { *reinterpret_cast<volatile std::uint32_t*>(base + off) = v; }
    void write64(unsigned off, std::uint64_t v) { *reinterpret_cast<volatile std::uint64_t*>(base + off) = v; }
};

// Every unit's IOTLB invalidation for vbh's domain, each waited for; a unit that does
// not complete stops the machine (a device might still reach an unmapped frame).
struct VtdFlushAll {
    void operator()() const;
};
// The same for AMD-Vi: INVALIDATE_IOMMU_PAGES + COMPLETION_WAIT on every unit.
struct AmdViFlushAll {
    void operator()() const;
};

// 4-level (48-bit) tables in either format: every address the 4-level NPT maps.
using DmaFrames = iommu::DmaMemory<HypFrames>;
using VtdTable = ept::Table<ept::Vtd, DmaFrames>;
using AmdViTable = ept::Table<ept::AmdVi, DmaFrames>;
using VtdStage2 = EngineStage2<VtdTable, VtdFlushAll>;
using AmdViStage2 = EngineStage2<AmdViTable, AmdViFlushAll>;
using DmaStage2 = EitherStage2<VtdStage2, AmdViStage2>;
using VtdUnitT = iommu::VtdUnit<MmioRegs>;
using AmdViUnitT = iommu::AmdViUnit<MmioRegs>;
static_assert(ept::Vtd::levels == 4 && ept::AmdVi::levels == 4);

// A unit's register window (pages from base), whichever kind.
struct RegWindow {
    std::uint64_t base;
    std::uint32_t pages;
};

struct Iommu {
    DmaFrames frames{};          // the DMA table's own pool (exact reservations)
    bool amdvi = false;          // the boot record lists AMD-Vi units (else VT-d or none)
    Lazy<VtdTable> vtd_table{};
    Lazy<AmdViTable> amdvi_table{};
    Lazy<VtdStage2> vtd_stage2{};
    Lazy<AmdViStage2> amdvi_stage2{};
    Lazy<DmaStage2> stage2{};
    Lazy<VtdUnitT> units[VBH_MAX_DMAR_UNITS]{};
    Lazy<AmdViUnitT> amdvi_units[VBH_MAX_AMDVI_UNITS]{};
    RegWindow regs[VBH_MAX_DMAR_UNITS > VBH_MAX_AMDVI_UNITS ? VBH_MAX_DMAR_UNITS : VBH_MAX_AMDVI_UNITS]{};
    std::uint32_t nr_units = 0;
    std::uint32_t owned = 0;     // set once every unit translates (iommu_own)
    std::uint64_t root_pa = 0;   // VT-d: the root table; AMD-Vi: the device table
    std::uint32_t devtab_pages = 0; // AMD-Vi: the device table's 4 KiB pages
    std::uint64_t tables_bytes = 0; // root+context (VT-d) or device table+rings (AMD-Vi)
    void* pool = nullptr;         // [pool, pool + pool_bytes): every DMA table frame
    std::uint64_t pool_bytes = 0;
    SpinLock drain_lock{};
};

extern Iommu iommu;

Result<void> iommu_map_registers();
// The DMA table and its pool (dma_pool_frames), empty (build_host_npt fills it like
// the NPT).
std::uint64_t dma_pool_frames();
Result<void> iommu_create_table();
Status iommu_own();
void iommu_drain();
// True if [pa, pa + page) holds a unit's registers.
bool iommu_register_page(std::uint64_t pa);

} // namespace vbh::image
