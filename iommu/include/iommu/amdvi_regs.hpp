// AMD-Vi (AMD I/O Virtualization Technology, IOMMU spec rev. 3.x) registers, device
// table entry, commands and event records: only what vbh uses (host translation with
// v1 page tables, command buffer, event log). Section numbers are the spec's:
// §3.4 MMIO registers, §2.2.2 device table entry, §2.4 commands, §2.5 event log.
// QEMU 7.2's amd-iommu (hw/i386/amd_iommu.{c,h}) implements the same offsets and bits.
#pragma once

#include <vbh/field.hpp>

#include <cstdint>

namespace vbh::iommu::amdvi {

// MMIO register offsets (§3.4). The low block is at 0x0000, the ring pointers and the
// status at 0x2000: the register set spans 16 KiB (4 pages).
inline constexpr unsigned reg_devtab = 0x0000;   // device table base and size
inline constexpr unsigned reg_cmdbuf = 0x0008;   // command buffer base and length
inline constexpr unsigned reg_evtlog = 0x0010;   // event log base and length
inline constexpr unsigned reg_control = 0x0018;
inline constexpr unsigned reg_efr = 0x0030;      // extended feature register
inline constexpr unsigned reg_cmd_head = 0x2000;
inline constexpr unsigned reg_cmd_tail = 0x2008;
inline constexpr unsigned reg_evt_head = 0x2010;
inline constexpr unsigned reg_evt_tail = 0x2018;
inline constexpr unsigned reg_status = 0x2020;
inline constexpr unsigned mmio_pages = 4;

// Base registers: address 51:12; the device table's size is in 4 KiB pages - 1 (8:0),
// the rings' length log2(entries) (59:56, 8 = 256 entries of 16 bytes = 4 KiB).
using BaseAddr = AddrField<51, 12>;
using DevtabSize = Field<8, 0>;
using RingLen = Field<59, 56>;
inline constexpr unsigned ring_len_log2 = 8;
inline constexpr unsigned ring_entries = 1u << ring_len_log2;
inline constexpr unsigned ring_bytes = ring_entries * 16;
using RingPtr = AddrField<18, 4>; // head/tail: byte offset of an entry (16-byte units)

inline constexpr std::uint64_t devtab_base(std::uint64_t pa, std::uint64_t pages) {
    return BaseAddr::addr(pa) | DevtabSize::make(pages - 1);
}
inline constexpr std::uint64_t ring_base(std::uint64_t pa) {
    return BaseAddr::addr(pa) | RingLen::make(ring_len_log2);
}

// Control register (§3.4.3).
namespace control {
inline constexpr std::uint64_t iommu_en = 1ull << 0;
inline constexpr std::uint64_t event_log_en = 1ull << 2;
inline constexpr std::uint64_t event_int_en = 1ull << 3;
inline constexpr std::uint64_t com_wait_int_en = 1ull << 4;
inline constexpr std::uint64_t coherent = 1ull << 10;   // device table reads snooped
inline constexpr std::uint64_t cmd_buf_en = 1ull << 12;
// What a running host driver leaves behind: vbh refuses such a unit (amd_iommu=off).
inline constexpr std::uint64_t host_owned = iommu_en | event_log_en | cmd_buf_en;
} // namespace control

// Extended feature register (§3.4.5): INVALIDATE_IOMMU_ALL supported.
using EfrIaSup = Bit<6>;

// Status register (§3.4.13): overflow and the interrupt bits are RW1C.
namespace status {
inline constexpr std::uint64_t event_overflow = 1ull << 0;
inline constexpr std::uint64_t event_log_int = 1ull << 1;
inline constexpr std::uint64_t com_wait_int = 1ull << 2;
inline constexpr std::uint64_t event_log_run = 1ull << 3;
inline constexpr std::uint64_t rw1c = event_overflow | event_log_int | com_wait_int;
} // namespace status

// Device table entry (§2.2.2.1), 256 bits, one per 16-bit device id (bus 15:8, device
// 7:3, function 2:0). vbh writes:
//   q0: V 0, TV 1 (translation information valid), Mode 11:9 (levels of the host page
//       table; 0 would mean no translation), page table root 51:12, IR 61, IW 62.
//   q1: DomainID 15:0 (tags the unit's translation cache). SysMgt (41:40, DTE bits
//       105:104) stays 00b: a device's system-management requests, SMI messages among
//       them, are target aborted (01b would forward them; AMD erratum 63).
//   q2: interrupt control (DTE bits 191:128), see dte_q2_filter below.
//   q3 = 0.
namespace dte {
using V = Bit<0>;
using Tv = Bit<1>;
using Mode = Field<11, 9>;
using Root = AddrField<51, 12>;
using Ir = Bit<61>;
using Iw = Bit<62>;
using DomainId = Field<15, 0>;
// q2. IV (bit 128): the interrupt fields are valid; with IV = 0 the unit forwards every
// interrupt request of the device unchanged, whatever its delivery mode. IntTabLen
// (132:129) and IntTableRootPtr (179:134) name a remapping table, used only when
// IntCtl = 10b. The pass bits decide the delivery modes IntCtl does not cover: 1
// forwards that request unmapped, 0 target-aborts it (INITPass 184, EIntPass 185,
// NMIPass 186, Lint0Pass 190, Lint1Pass 191). IntCtl (189:188) decides fixed and
// arbitrated (lowest-priority) interrupts: 00b target abort, 01b forward unmapped,
// 10b remap through the table.
using Iv = Bit<0>;
using IntTabLen = Field<4, 1>;
using IntTableRoot = AddrField<51, 6>;
using InitPass = Bit<56>;
using EIntPass = Bit<57>;
using NmiPass = Bit<58>;
using IntCtl = Field<61, 60>;
using Lint0Pass = Bit<62>;
using Lint1Pass = Bit<63>;
inline constexpr std::uint64_t intctl_abort = 0, intctl_forward = 1, intctl_remap = 2;
inline constexpr unsigned quads = 4;
inline constexpr unsigned bytes = 32;
} // namespace dte

inline constexpr std::uint64_t dte_q0(std::uint64_t root_pa, unsigned levels) {
    return dte::V::mask | dte::Tv::mask | dte::Mode::make(levels) | dte::Root::addr(root_pa) |
           dte::Ir::mask | dte::Iw::mask;
}
inline constexpr std::uint64_t dte_q1(std::uint16_t domain) { return dte::DomainId::make(domain); }

// vbh's interrupt filter (threat #11, docs/iommu.md "Interrupt remapping"): IV = 1,
// IntCtl = 01b and every pass bit clear. Fixed and arbitrated interrupts the host
// programs reach the CPU unchanged (any vector, the host's own destination), so the
// host keeps its devices without asking vbh for remapping entries; a device can no
// longer deliver NMI, INIT, ExtINT (an external-interrupt vector the CPU fetches from
// an 8259 that is not there), LINT0 or LINT1 messages: the unit target-aborts them.
// (SMI: SysMgt = 00b, q1.) No table (IntCtl 01b reads none).
inline constexpr std::uint64_t dte_q2_filter() {
    return dte::Iv::mask | dte::IntCtl::make(dte::intctl_forward);
}

// The device table (one, shared by every unit): `entries` DTEs, each sending its device
// to the page table at root_pa in `domain`, interrupts filtered (dte_q2_filter). A device
// id beyond the table is refused by the unit (an ILLEGAL_DEV_TABLE_ENTRY event on
// hardware; QEMU 7.2 does not check the size, so the table covers every id the IVRS
// lists).
inline void fill_device_table(std::uint64_t* table, std::uint32_t entries, std::uint64_t root_pa,
                              unsigned levels, std::uint16_t domain) {
    for (std::uint32_t i = 0; i < entries; ++i) {
        table[dte::quads * i] = dte_q0(root_pa, levels);
        table[dte::quads * i + 1] = dte_q1(domain);
        table[dte::quads * i + 2] = dte_q2_filter();
        table[dte::quads * i + 3] = 0;
    }
}

// The IOAPIC's entry (the IVRS special device of variety IOAPIC) keeps IV = 0: its
// messages come from redirection entries only the host's CPUs program, so an NMI or
// INIT through it is no more than the host's own IPI through the local APIC's ICR (the
// CPU-side defences of docs/threats.md #13 apply to both). And QEMU 7.2 cannot forward
// with IntCtl = 01b: amdvi_int_remap_msi() rebuilds a fixed or arbitrated message from
// an X86IOMMUIrq that only the remap path (10b) fills, so it sends vector 0 to APIC 0,
// which the CPU takes as a divide error; through the IOAPIC that is the timer's and the
// serial port's interrupts (docs/iommu.md).
inline void unfilter_device(std::uint64_t* table, std::uint32_t entries, std::uint16_t devid) {
    if (devid < entries)
        table[dte::quads * devid + 2] = 0;
}

// Commands (§2.4), 128 bits: opcode in bits 63:60 of the first quadword.
using Opcode = Field<63, 60>;
namespace op {
inline constexpr std::uint64_t completion_wait = 1;
inline constexpr std::uint64_t inval_devtab_entry = 2;
inline constexpr std::uint64_t inval_iommu_pages = 3;
inline constexpr std::uint64_t inval_iommu_all = 8;
} // namespace op

struct Command {
    std::uint64_t q0, q1;
    constexpr bool operator==(const Command&) const = default;
};

// COMPLETION_WAIT (§2.4.1): once every earlier command has completed, the unit stores
// `data` at `store_pa` (8-byte aligned, bits 51:3; S = bit 0). Polling that quadword is
// the completion wait.
inline constexpr Command completion_wait(std::uint64_t store_pa, std::uint64_t data) {
    return {Opcode::make(op::completion_wait) | AddrField<51, 3>::addr(store_pa) | 1, data};
}
// INVALIDATE_DEVTAB_ENTRY (§2.4.2): DeviceID 15:0.
inline constexpr Command inval_devtab_entry(std::uint16_t devid) {
    return {Opcode::make(op::inval_devtab_entry) | devid, 0};
}
// INVALIDATE_IOMMU_PAGES (§2.4.3): DomainID 47:32; q1: S 0, PDE 1, address 63:12. S = 1
// with address 0x7fff_ffff_ffff_f000 is every page of the domain, PDE = 1 the cached
// page-directory entries too.
inline constexpr std::uint64_t all_pages = 0x7ffffffffffff000ull;
inline constexpr Command inval_domain_pages(std::uint16_t domain) {
    return {Opcode::make(op::inval_iommu_pages) | Field<47, 32>::make(domain), all_pages | 0b11};
}
// INVALIDATE_IOMMU_ALL (§2.4.7, EFR.IASup): every cache the unit holds.
inline constexpr Command inval_all() { return {Opcode::make(op::inval_iommu_all), 0}; }

// Event log entry (§2.5), 128 bits: EventCode 63:60 of q0 (dword 1 bits 31:28). For
// IO_PAGE_FAULT (code 2): DeviceID 15:0, DomainID 47:32, flags 59:48 with RW (1: write)
// at bit 53 of q0; q1: the address the device reached for.
namespace event {
using Code = Field<63, 60>;
using DeviceId = Field<15, 0>;
using Write = Bit<53>;
inline constexpr unsigned illegal_dev_table_entry = 1;
inline constexpr unsigned io_page_fault = 2;
inline constexpr unsigned dev_tab_hardware_error = 3;
inline constexpr unsigned page_tab_hardware_error = 4;
inline constexpr unsigned illegal_command = 5;
inline constexpr unsigned command_hardware_error = 6;
} // namespace event

static_assert(dte_q0(0x5000, 4) == 0x6000000000005803);
static_assert(completion_wait(0x1238, 7) == Command{0x1000000000001239, 7});
static_assert(inval_domain_pages(1) == Command{0x3000000100000000, 0x7ffffffffffff003});
static_assert(devtab_base(0x200000, 2) == 0x200001);
static_assert(ring_base(0x3000) == 0x0800000000003000);
static_assert(disjoint(dte::V::mask, dte::Tv::mask, dte::Mode::mask, dte::Root::mask, dte::Ir::mask,
                       dte::Iw::mask));
static_assert(disjoint(dte::Iv::mask, dte::IntTabLen::mask, dte::IntTableRoot::mask, dte::InitPass::mask,
                       dte::EIntPass::mask, dte::NmiPass::mask, dte::IntCtl::mask, dte::Lint0Pass::mask,
                       dte::Lint1Pass::mask));
static_assert(dte_q2_filter() == 0x1000000000000001);

} // namespace vbh::iommu::amdvi
