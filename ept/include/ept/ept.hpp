// vbh::ept — the one page-table engine behind every vbh table: AMD NPT (Npt), Intel EPT
// (Ept), VT-d second-level tables (Vtd, Vtd3), AMD-Vi v1 I/O tables (AmdVi) and the
// hypervisor's own tables (Hpt).
//
//   #include <ept/ept.hpp>
//   using namespace vbh::ept;
//
//   static FramePool<512> frames{image_phys_minus_virt};     // or any TableMemory
//   auto npt = Table<Npt, FramePool<512>>::create(frames);   // Result<Table>
//   if (!npt) return npt.error();
//
//   // decode: validate and cost the change; may fail, changes nothing
//   const Op op = Op::map(0, 0, 4 * gib1, Attrs{Perm::rwx, MemType::wb});
//   auto need = npt->tables_needed(op);        // exact frames apply(op) will allocate
//   if (!need) return need.error();
//   if (*need > frames.available()) return Status::no_memory;
//   // perform: cannot fail now (the writer is serialised per table)
//   Change ch = *npt->apply(op);               // 1 GiB leaves here
//   ch = *npt->unmap(0x1234000, 0x3000);       // splits 1 GiB -> 2 MiB -> 4 KiB
//   ch = *npt->protect(0x100000, mib2, Perm::r);
//   if (ch.flush) flush_tlbs();                // what to flush: Npt::flush (Flush::asid)
//   frames.release_retired();                  // only after that flush
//   npt->map(0x1234000, 0x1234000, 0x3000, Attrs{Perm::rwx});  // re-merges to 1 GiB
//   if (auto leaf = npt->lookup(0x1235000)) use(leaf->pa, leaf->size, leaf->attrs);
//   npt->for_each(0, 4 * gib1, [](const Leaf& l) { ... });
//
// vmcb.n_cr3 = npt->root(). The engine never allocates from a heap, never throws, and
// compiles freestanding (see ept/src/fs_check.cpp).
#pragma once

#include <ept/attrs.hpp>
#include <vbh/field.hpp>
#include <ept/format.hpp>
#include <ept/format_amdvi.hpp>
#include <ept/format_ept.hpp>
#include <ept/format_hpt.hpp>
#include <ept/format_npt.hpp>
#include <ept/format_vtd.hpp>
#include <ept/memory.hpp>
#include <ept/op.hpp>
#include <ept/pool.hpp>
#include <ept/table.hpp>
