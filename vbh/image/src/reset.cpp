// A reset or power-off through a trapped port (io_policy.hpp; docs/launch.md, "I/O
// ports"): RAM survives a warm reset, so before the write reaches the platform every
// frame the hypervisor protects is zeroed: frames donated to domains or to the
// hypervisor (through the direct map), then the hypervisor's own memory, last this
// CPU's stack with the write itself (reset.S). What is left: the image's text and
// read-only data (the public vbh.bin), the hypervisor's own page-table frames (the
// scrub runs on them; they hold only the layout of hypervisor memory) and the stack
// guard pages (never mapped, never written).
//
// Other CPUs: the core's lock is taken for good (no ownership change from here), every
// other CPU in guest mode is kicked and parks at its NMI exit; the wait is bounded
// (park_bound). A CPU that does not answer is either in guest mode, where the NPT
// hides everything being zeroed (and zeroing can only remove mappings), or in the
// hypervisor, where it ends on a zeroed control block (VMRUN fails: fatal, halt).
// Donated frames go first, before anything that CPU could stumble over.
#include "env.hpp"

#include <vbh/arch/apic.hpp>
#include <vbh/arch/serial.hpp>

#include <cstring>

extern "C" char __image_start[], __ro_end[];
extern "C" [[noreturn]] void vbh_scrub_tail(std::uint64_t stack_base, std::uint64_t qwords,
                                            std::uint64_t port, std::uint64_t size,
                                            std::uint64_t value);

namespace vbh::image {

namespace {

constexpr std::uint64_t park_bound = 1ull << 28; // TSC cycles, ~0.1 s
constexpr unsigned max_skip = 256;               // page-table frames + guard pages

// The pages the scrub of hypervisor memory leaves alone, as virtual addresses.
struct Skip {
    std::uint64_t va[max_skip];
    unsigned n = 0;
    void add(std::uint64_t v) {
        if (n < max_skip)
            va[n++] = v;
    }
    bool has(std::uint64_t v) const {
        for (unsigned i = 0; i < n; ++i)
            if (va[i] == v)
                return true;
        return false;
    }
};

// The hypervisor's own page tables (x86-64 4-level: P bit 0, PS bit 7 at levels 3/2,
// address bits 51:12; AMD APM vol. 2 §5.3): every table frame, by a walk from CR3.
void add_tables(Skip& s, std::uint64_t pa, int level) {
    const std::uint64_t va = g.mem.virt_of_phys(pa);
    if (!va || s.has(va))
        return;
    s.add(va);
    if (level == 1)
        return;
    const auto* e = reinterpret_cast<const std::uint64_t*>(va);
    for (unsigned i = 0; i < 512; ++i)
        if ((e[i] & 1) && !(level <= 3 && (e[i] & (1u << 7))))
            add_tables(s, e[i] & 0x000ffffffffff000ull, level - 1);
}

void park_others(PerCpu* me) {
    std::uint32_t expected = 0;
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i) {
        PerCpu* c = g.cpus[i];
        if (c == me || !__atomic_load_n(&c->stats.launched, __ATOMIC_ACQUIRE))
            continue;
        ++expected;
        if (__atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST))
            arch::LocalApic::send_nmi(g.apic, c->apic_id);
    }
    const std::uint64_t t0 = arch::rdtsc();
    while (__atomic_load_n(&g.parked, __ATOMIC_ACQUIRE) < expected && arch::rdtsc() - t0 < park_bound)
        arch::pause();
}

// Frames outside hypervisor memory that the host must not see: donated to a domain
// (private guest memory included) or to the hypervisor. Reached through the direct
// map (VA = PA).
std::uint64_t scrub_donated() {
    std::uint64_t n = 0;
    const FrameTable& ft = g.core->frames();
    for (std::uint64_t p = 0; p < ft.frames(); ++p) {
        const Owner o = ft.at(Pfn{p}).owner();
        if ((o != Owner::domain && o != Owner::guest && o != Owner::hyp) || g.mem.contains_phys(Pfn{p}.phys()))
            continue;
        std::memset(reinterpret_cast<void*>(Pfn{p}.phys()), 0, page);
        ++n;
    }
    return n;
}

std::uint64_t zero_pages(std::uint64_t from, std::uint64_t to, const Skip& s, std::uint64_t keep_lo,
                         std::uint64_t keep_hi) {
    std::uint64_t n = 0;
    for (std::uint64_t va = from; va < to; va += page) {
        if (s.has(va) || (va >= keep_lo && va < keep_hi))
            continue;
        std::memset(reinterpret_cast<void*>(va), 0, page);
        ++n;
    }
    return n;
}

} // namespace

[[noreturn]] void platform_reset(PerCpu* pc, const Exit& x) {
    const IoAccess a = io_access(x.qual, pc->vcpu.reg(Gpr::rax));
    arch::Serial::puts("vbh-hyp: platform reset/power-off through port ");
    arch::Serial::hex(a.port);
    arch::Serial::puts(", scrubbing\n");
    g.core->freeze();
    __atomic_store_n(&g.resetting, 1, __ATOMIC_SEQ_CST);
    park_others(pc);
    const std::uint64_t donated = scrub_donated();

    // Everything below lives on this stack: .bss goes last of all but the stack.
    Skip skip;
    add_tables(skip, pc->host_cr3, 4);
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i)
        skip.add(reinterpret_cast<std::uint64_t>(&g.cpus[i]->block->guard));
    // A page table zeroed under our feet would fault, and a fault with a zeroed IDT
    // resets the machine before the scrub ends: refuse to go on instead (no reset).
    if (skip.n == max_skip)
        fatal("reset: too many pages to keep", skip.n, 0);
    const std::uint64_t base = reinterpret_cast<std::uint64_t>(__image_start);
    const std::uint64_t pool = (base + g.br.boot_record_offset + sizeof g.br + page - 1) & ~(page - 1);
    const std::uint64_t end = base + g.br.hyp_size;
    const auto stack_lo = reinterpret_cast<std::uint64_t>(&pc->block->stack[0]);
    const std::uint64_t stack_hi = pc->block->stack_top();
    const std::uint64_t ro_end = reinterpret_cast<std::uint64_t>(__ro_end);
    std::uint64_t n = zero_pages(pool, end, skip, stack_lo, stack_hi);
    n += zero_pages(ro_end, pool, skip, stack_lo, stack_hi);
    arch::Serial::puts("vbh-hyp: scrubbed ");
    arch::Serial::dec(donated);
    arch::Serial::puts(" donated and ");
    arch::Serial::dec(n + stack_pages);
    arch::Serial::puts(" hypervisor frames, letting the write through\n");
    vbh_scrub_tail(stack_lo, (stack_hi - stack_lo) / 8, a.port, a.size, a.value);
}

} // namespace vbh::image
