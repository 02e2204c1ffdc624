// VT-d remapping-unit registers and the legacy-mode root and context entries
// (Intel VT-d spec rev. 3.x, chapter 9 "Translation Structure Formats" and chapter 11
// "Register Descriptions"). Only what vbh uses: legacy (not scalable) translation,
// second-level tables, register-based invalidation, primary fault recording.
// QEMU 7.2's intel-iommu implements the same layout (hw/i386/intel_iommu_internal.h:
// IOTLB registers at 0xf0, one fault recording register at 0x220).
#pragma once

#include <vbh/field.hpp>

#include <cstdint>

namespace vbh::iommu::vtd {

// Register offsets (§11.4).
inline constexpr unsigned reg_ver = 0x00;
inline constexpr unsigned reg_cap = 0x08;
inline constexpr unsigned reg_ecap = 0x10;
inline constexpr unsigned reg_gcmd = 0x18;
inline constexpr unsigned reg_gsts = 0x1c;
inline constexpr unsigned reg_rtaddr = 0x20;
inline constexpr unsigned reg_ccmd = 0x28;
inline constexpr unsigned reg_fsts = 0x34;
inline constexpr unsigned reg_fectl = 0x38;
// IOTLB registers: IVA at ECAP.IRO * 16, IOTLB invalidate 8 bytes after it.
inline constexpr unsigned iotlb_reg_from_iva = 8;

namespace cap {
using Sagaw = Field<12, 8>;   // bit 1: 39-bit 3-level, bit 2: 48-bit 4-level tables
using Mgaw = Field<21, 16>;   // maximum guest address width - 1
using Cm = Bit<7>;            // caching mode: not-present entries may be cached
using Rwbf = Bit<4>;          // write-buffer flush needed after table updates
using Fro = Field<33, 24>;    // fault recording registers at Fro * 16
using Nfr = Field<47, 40>;    // number of fault recording registers - 1
using Dwd = Bit<54>;          // IOTLB invalidation can drain writes
using Drd = Bit<55>;          // ... and reads
} // namespace cap

namespace ecap {
using C = Bit<0>;             // page walks snoop the CPU caches (coherent)
using Qi = Bit<1>;
using Ir = Bit<3>;
using Iro = Field<17, 8>;     // IOTLB registers at Iro * 16
} // namespace ecap

// GCMD / GSTS (§11.4.4, §11.4.5): one command bit at a time; each status bit mirrors it.
namespace gsts {
inline constexpr std::uint32_t tes = 1u << 31;   // translation enabled
inline constexpr std::uint32_t rtps = 1u << 30;  // root table pointer set (one-shot)
inline constexpr std::uint32_t wbfs = 1u << 27;  // write-buffer flush pending (one-shot)
inline constexpr std::uint32_t qies = 1u << 26;  // queued invalidation enabled
inline constexpr std::uint32_t ires = 1u << 25;  // interrupt remapping enabled
inline constexpr std::uint32_t cfis = 1u << 23;  // compatibility-format interrupts pass
// The persistent enables: a GCMD write is (GSTS & persistent) | one command bit, so
// that setting one command does not clear another (§11.4.4 pseudo-code 0x96FFFFFF).
inline constexpr std::uint32_t persistent = 0x96ffffffu;
// What a running host driver leaves behind: vbh refuses such a unit.
inline constexpr std::uint32_t host_owned = tes | qies | ires;
} // namespace gsts

// CCMD (§11.4.7): context-cache invalidation.
namespace ccmd {
inline constexpr std::uint64_t icc = 1ull << 63;        // invalidate; cleared when done
inline constexpr std::uint64_t global = 1ull << 61;     // CIRG = 01
} // namespace ccmd

// IOTLB invalidate register (§11.4.8.1).
namespace iotlb {
inline constexpr std::uint64_t ivt = 1ull << 63;        // invalidate; cleared when done
inline constexpr std::uint64_t global = 1ull << 60;     // IIRG = 01
inline constexpr std::uint64_t domain = 2ull << 60;     // IIRG = 10: one domain
inline constexpr std::uint64_t dr = 1ull << 49;         // drain reads (CAP.DRD)
inline constexpr std::uint64_t dw = 1ull << 48;         // drain writes (CAP.DWD)
using Did = Field<47, 32>;
} // namespace iotlb

// FSTS / FECTL (§11.4.9): primary fault logging.
namespace fsts {
inline constexpr std::uint32_t pfo = 1u << 0;           // overflow (RW1C)
inline constexpr std::uint32_t ppf = 1u << 1;           // a record holds a fault
using Fri = Field<15, 8, std::uint32_t>;                // first record to look at
} // namespace fsts
inline constexpr std::uint32_t fectl_im = 1u << 31;     // fault interrupt masked

// A fault recording register (§11.4.14), 128 bits; the upper quadword:
namespace frcd {
inline constexpr std::uint64_t f = 1ull << 63;          // valid (RW1C)
inline constexpr std::uint64_t t = 1ull << 62;          // 1: read request, 0: write
using Reason = Field<39, 32>;
using Sid = Field<15, 0>;                               // requester bus:dev.fn
} // namespace frcd

// Legacy root entry (§9.1), 128 bits: one per bus, pointing at that bus's context table.
inline constexpr std::uint64_t root_lo(std::uint64_t context_table_pa) {
    return AddrField<63, 12>::addr(context_table_pa) | 1; // present
}

// Legacy context entry (§9.3), 128 bits: one per device function.
//   lo: P (0), FPD (1), TT 3:2 (00: untranslated requests through the second level),
//       second-level table pointer 63:12.
//   hi: AW 2:0 (1: 39-bit 3-level, 2: 48-bit 4-level), DID 23:8.
inline constexpr std::uint64_t context_lo(std::uint64_t sl_root_pa) {
    return AddrField<63, 12>::addr(sl_root_pa) | 1;
}
inline constexpr std::uint64_t context_hi(unsigned levels, std::uint16_t did) {
    return Field<2, 0>::make(levels - 2) | Field<23, 8>::make(did);
}

static_assert(root_lo(0x5000) == 0x5001);
static_assert(context_lo(0x7000) == 0x7001);
static_assert(context_hi(4, 1) == 0x102);
static_assert(disjoint(cap::Sagaw::mask, cap::Mgaw::mask, cap::Cm::mask, cap::Rwbf::mask,
                       cap::Fro::mask, cap::Nfr::mask, cap::Dwd::mask, cap::Drd::mask));

} // namespace vbh::iommu::vtd
