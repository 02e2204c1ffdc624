// The hypervisor's side of the IOMMU driver (iommu/): the DMA remapping table every
// host device goes through, kept equal to the host NPT as a mirror in HostNpt
// (stage2.hpp), and the VT-d units that walk it (docs/iommu.md).
//   init:  iommu_map_registers() maps each unit's register pages (UC) in the
//          hypervisor's tables; build_host_npt() builds the DMA table next to the NPT,
//          both without those pages (a host access is an NPF: refused and logged).
//   seal:  iommu_own() checks every unit is free, points it at vbh's root table and
//          enables translation; before that the host may still DMA anywhere, as it
//          could before insmod (the loader is running and no domain exists yet).
//   after: every host stage-2 change reaches the DMA table and VtdFlushAll waits for
//          every unit's IOTLB invalidation; iommu_drain() moves fault records to the log.
#pragma once

#include <ept/ept.hpp>
#include <iommu/vtd_tables.hpp>
#include <iommu/vtd_unit.hpp>
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

// 4-level (48-bit) second-level tables: every address the 4-level NPT maps.
using DmaFormat = ept::Vtd;
using DmaFrames = iommu::DmaMemory<HypFrames>;
using DmaTable = ept::Table<DmaFormat, DmaFrames>;
using DmaStage2 = EngineStage2<DmaTable, VtdFlushAll>;
using VtdUnitT = iommu::VtdUnit<MmioRegs>;

struct Iommu {
    DmaFrames frames{};          // the DMA table's own pool (exact reservations)
    Lazy<DmaTable> table{};
    Lazy<DmaStage2> stage2{};
    Lazy<VtdUnitT> units[VBH_MAX_DMAR_UNITS]{};
    std::uint32_t nr_units = 0;
    std::uint32_t owned = 0;     // set once every unit translates (iommu_own)
    std::uint64_t root_pa = 0;
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
