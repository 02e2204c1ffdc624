// Npt: AMD nested page tables (APM vol. 2 §15.25). Same layout as the host's long-mode
// tables (§15.25.5: "nested page tables have the same format as long-mode tables"), with
// two rules: every level must grant U/S = 1 since nested walks are user accesses, and
// NX is only valid when the host EFER.NXE is 1 at VMRUN (otherwise bit 63 is reserved).
// The PAT index selects from the host IA32_PAT (§15.25.8), which vbh leaves as Linux set it.
#pragma once

#include <ept/x86_entry.hpp>

namespace vbh::ept {

template <unsigned MaxLeaf = 2, PatLayout Pat = pat_linux>
using BasicNpt = X86Format<true, MaxLeaf, Pat>;
using Npt = BasicNpt<>;

static_assert(Format<Npt>);
// APM fig. 5-18 (PML4E): P | R/W | U/S, address in 51:12.
static_assert(Npt::table(0x12345000, 3) == 0x12345007);
// APM fig. 5-25 (2 MiB PDE): PS = bit 7, NX = bit 63; WB is PAT index 0.
static_assert(Npt::leaf(0x200000, {Perm::rw}, 1) == 0x8000000000200087);
// APM fig. 5-21 (4 KiB PTE): UC is PAT index 3 = PCD | PWT; executable clears NX.
static_assert(Npt::leaf(0x5000, {Perm::rx, MemType::uc}, 0) == 0x501d);
// 1 GiB leaf with PAT index 5 (WP in Linux's layout): PAT is bit 12 on large pages.
static_assert(Npt::leaf(0x40000000, {Perm::r, MemType::wp}, 2) == 0x800000004000108d);
static_assert(Npt::attrs(0x800000004000108d, 2) == Attrs{Perm::r, MemType::wp});
static_assert(Npt::is_leaf(0x87, 1) && !Npt::is_leaf(0x87, 3) && !Npt::is_leaf(0x86, 0));

} // namespace vbh::ept
