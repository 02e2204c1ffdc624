// Hpt: the hypervisor's own x86-64 4-level page tables (APM vol. 2 §5.3.3, SDM vol. 3
// §4.5). Leaves choose U/S (0 for hypervisor memory: SMEP/SMAP then keep it apart from
// anything user-accessible), G (survives CR3 reloads, needs INVLPG) and NX (needs
// EFER.NXE = 1). Non-leaf entries grant everything; the leaf decides (SDM §4.6.1).
#pragma once

#include <ept/x86_entry.hpp>

namespace vbh::ept {

template <unsigned MaxLeaf = 2, PatLayout Pat = pat_linux>
using BasicHpt = X86Format<false, MaxLeaf, Pat>;
using Hpt = BasicHpt<>;

static_assert(Format<Hpt>);
// SDM table 4-19 (4 KiB PTE): P, R/W, G = bit 8, NX = bit 63; supervisor leaf has U/S = 0.
static_assert(Hpt::leaf(0x7000, {Perm::rw, MemType::wb, false, true}, 0) == 0x8000000000007103);
static_assert(Hpt::leaf(0x7000, {Perm::rx, MemType::wb, true}, 0) == 0x7005);
static_assert(Hpt::attrs(0x8000000000007103, 0) == Attrs{Perm::rw, MemType::wb, false, true});
// PAT index 4 (bit 7 of a PTE) is WB again, decoded as WB; encoding picks index 0.
static_assert(Hpt::attrs(0x7081, 0).type == MemType::wb);
// WC is PAT index 1 (PWT) in Linux's layout and absent from the power-on layout.
static_assert(Hpt::leaf(0x7000, {Perm::rw, MemType::wc}, 0) == 0x800000000000700b);
static_assert(!BasicHpt<2, pat_reset>::encodable({Perm::rw, MemType::wc}));
static_assert(!Hpt::encodable({Perm::w}) && !Hpt::encodable({Perm::none}));

} // namespace vbh::ept
