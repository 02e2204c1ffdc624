// The hypervisor's own page tables and the host NPT, both built with the one engine
// (ept/). Hypervisor tables (Hpt):
//   hyp_virt_base + [0, text_end)        image header + .text        R X
//   hyp_virt_base + [text_end, ro_end)   .rodata, relocations        R
//   hyp_virt_base + [ro_end, hyp_size)   .data/.bss, boot record, pool  RW NX
//   per-CPU stack guard pages            not mapped
//   VA = PA for every RAM range except hypervisor memory   RW NX WB (direct map)
//   the local APIC page                  RW NX UC
//   the IOMMU units' register pages      RW NX UC (iommu_map_registers)
// Host NPT: [0, 2^phys_addr_bits) identity, RWX, U/S = 1 (nested walks are user
// accesses: docs/platform.md quirk 6), largest pages, minus every hyp_range and the
// IOMMU units' register pages. Its DMA mirror (iommu.hpp): the same view, RW.
#include <vbh/arch/apic.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/image/paging.hpp>
#include <vbh/test_hooks.hpp>

extern "C" char __image_start[], __text_end[], __ro_end[];

namespace vbh::image {

using ept::Attrs;
using ept::MemType;
using ept::Perm;

// The engine translates 48-bit addresses; the upper-half VAs of hyp memory index
// the same PML4 slots once the sign extension is dropped.
static constexpr std::uint64_t va48(std::uint64_t va) { return va & ((1ull << 48) - 1); }

static Result<void> map_hyp_span(std::uint64_t from, std::uint64_t to, Perm perm) {
    std::uint64_t off = 0;
    for (std::uint32_t i = 0; i < g.mem.nr_ranges(); ++i) {
        const vbh_mem_range& r = g.mem.range(i);
        const std::uint64_t lo = from > off ? from : off;
        const std::uint64_t hi = to < off + r.size ? to : off + r.size;
        if (lo < hi) {
            const Attrs a{perm, MemType::wb};
            if (auto m = g.hpt->map(va48(g.mem.virt_base() + lo), r.base + (lo - off), hi - lo, a); !m)
                return unexpected(m.error());
        }
        off += r.size;
    }
    return {};
}

static Result<void> map_direct() {
    for (std::uint32_t i = 0; i < g.br.nr_ram_ranges; ++i) {
        const vbh_mem_range& r = g.br.ram_ranges[i];
        if (auto m = g.hpt->map(r.base, r.base, r.size, Attrs{Perm::rw, MemType::wb}); !m)
            return unexpected(m.error());
    }
    // Hypervisor memory is reached only through hyp_virt_base (with W^X), never via
    // a second, writable alias.
    for (std::uint32_t i = 0; i < g.mem.nr_ranges(); ++i)
        if (auto m = g.hpt->unmap(g.mem.range(i).base, g.mem.range(i).size); !m)
            return unexpected(m.error());
    g.apic = arch::LocalApic::capture();
    const std::uint64_t apic = g.apic.base;
    if (auto m = g.hpt->map(apic, apic, page, Attrs{Perm::rw, MemType::uc}); !m)
        return unexpected(m.error());
    return {};
}

Result<void> build_hyp_tables() {
    auto t = HypTable::create(g.frames);
    if (!t)
        return unexpected(t.error());
    g.hpt.emplace(*t);
    const std::uint64_t text_end = std::uint64_t(__text_end - __image_start);
    const std::uint64_t ro_end = std::uint64_t(__ro_end - __image_start);
    if (auto r = map_hyp_span(0, text_end, Perm::rx); !r)
        return r;
    if (auto r = map_hyp_span(text_end, ro_end, Perm::r); !r)
        return r;
    if (auto r = map_hyp_span(ro_end, g.mem.size(), Perm::rw); !r)
        return r;
    return map_direct();
}

Result<void> unmap_guard(const void* guard) {
    if (auto r = g.hpt->unmap(va48(reinterpret_cast<std::uint64_t>(guard)), page); !r)
        return unexpected(r.error());
    return {};
}

// One identity view, built the same way in the NPT and in its DMA mirror (the mirror
// contract: both start equal). The IOMMU units' register pages are never in it: the
// host would reprogram the IOMMU (an NPF, refused and logged) and a device could DMA
// into them.
template <class T>
static Result<void> build_identity(T& t, Attrs a) {
    const std::uint64_t top = 1ull << g.br.phys_addr_bits;
    if (auto m = t.map(0, 0, top, a); !m)
        return unexpected(m.error());
    for (std::uint32_t i = 0; i < iommu.nr_units; ++i) {
        const RegWindow& w = iommu.regs[i];
        if (auto m = t.unmap(w.base, std::uint64_t(w.pages) * page); !m)
            return unexpected(m.error());
    }
    // vbh-test.bin only (vbh/test_hooks.hpp): the containment suite proves its harness
    // on hypervisor memory left mapped. vbh.bin ignores the flag and always hides it.
    if (test_hooks && (g.br.flags & VBH_BOOT_DEMO_ATTACKABLE))
        return {};
    for (std::uint32_t i = 0; i < g.mem.nr_ranges(); ++i)
        if (auto m = t.unmap(g.mem.range(i).base, g.mem.range(i).size); !m)
            return unexpected(m.error());
    return {};
}

Result<void> build_host_npt() {
    auto t = NptTable::create(g.frames);
    if (!t)
        return unexpected(t.error());
    NptTable& npt = g.npt_table.emplace(*t);
    if (auto r = iommu_create_table(); !r)
        return r;
    g.npt.emplace(*iommu.stage2, npt, CrossCpuFlush{});
    if (auto r = build_identity(npt, Attrs{Perm::rwx, MemType::wb}); !r)
        return r;
    if (iommu.amdvi)
        return build_identity(*iommu.amdvi_table, Attrs{Perm::rw, MemType::wb});
    return build_identity(*iommu.vtd_table, Attrs{Perm::rw, MemType::wb});
}

} // namespace vbh::image
