#include "touch.hpp"

#include "kvm_private.hpp"
#include "payload_abi.h"

#include <cerrno>
#include <fmt/format.h>
#include <sys/mman.h>

namespace vmm {

namespace {

constexpr std::uint64_t page = 0x1000;
constexpr std::uint32_t touch_slot = 2;
static_assert(VMM_TOUCH >= VMM_SECRET + VMM_SLOT1_SIZE, "memslot 2 follows memslot 1");
static_assert(VMM_TOUCH + std::uint64_t{VMM_TOUCH_MAX_PAGES} * page <= MMIO_BASE);

} // namespace

Result<std::unique_ptr<TouchRegion>> TouchRegion::create(Vm& vm, const TouchOptions& o) {
    if (o.pages == 0 || o.pages > VMM_TOUCH_MAX_PAGES)
        return Error{fmt::format("--touch-pages {}: not 1..{}", o.pages, VMM_TOUCH_MAX_PAGES)};
    const std::uint64_t bytes = std::uint64_t{o.pages} * page;
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return errno_error("mmap of the touch region", errno);
    std::unique_ptr<TouchRegion> t{new TouchRegion{static_cast<std::uint8_t*>(p), bytes}};
    // A 2 MiB transparent huge page would let KVM map 512 guest pages with one fault,
    // and the ordinary VM's figure would no longer be per page. EINVAL: a kernel built
    // without THP, where every page is 4 KiB anyway.
    if (::madvise(p, bytes, MADV_NOHUGEPAGE) != 0 && errno != EINVAL)
        return errno_error("madvise(MADV_NOHUGEPAGE) of the touch region", errno);
    if (!o.protected_vm) {
        if (auto r = vm.set_memory(touch_slot, VMM_TOUCH, bytes, p); !r) return r.error();
        return t;
    }
    auto gmem = vm.create_guest_memfd(bytes);
    if (!gmem) return gmem.error();
    t->gmem_ = std::move(*gmem);
    if (auto r = vm.set_private_memory(touch_slot, VMM_TOUCH, bytes, p, t->gmem_); !r)
        return r.error();
    if (auto r = vm.set_attributes(VMM_TOUCH, bytes, uapi::memory_attribute_private); !r)
        return r.error();
    return t;
}

TouchRegion::~TouchRegion() { ::munmap(shared_, bytes_); }

std::uint64_t touch_expected_sum(std::uint32_t pages) {
    const std::uint64_t n = pages;
    return n * (n - 1) / 2 + 2 * n;  // page i: i + 1 written, then incremented
}

std::uint64_t touch_expected_cpu(std::uint32_t iters) {
    std::uint64_t x = 1;
    for (std::uint32_t i = 0; i < iters; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

std::vector<Check> judge_touch(const TouchOptions& o, const Report& vcpu0) {
    std::vector<Check> out;
    auto equal = [&](const char* name, unsigned id, std::uint64_t want) {
        const auto got = vcpu0.value64(id);
        if (!got) {
            out.push_back(Check{name, false, "not reported"});
            return;
        }
        out.push_back(Check{name, *got == want,
                            *got == want ? fmt::format("{:#x}", want)
                                         : fmt::format("got {:#x}, want {:#x}", *got, want)});
    };
    equal("touch.sum", R_TOUCH_SUM, touch_expected_sum(o.pages));
    equal("touch.cpu_value", R_TOUCH_CPU_VALUE, touch_expected_cpu(o.cpu_iters));
    return out;
}

std::vector<Metric> touch_metrics(const TouchOptions& o, std::uint32_t tsc_khz,
                                  const Report& vcpu0) {
    std::vector<Metric> out;
    const double ns_per_cycle = tsc_khz ? 1e6 / tsc_khz : 0.0;
    auto per_page = [&](const char* pass, unsigned id) {
        const auto cycles = vcpu0.value64(id);
        if (!cycles || o.pages == 0) return;
        const double c = static_cast<double>(*cycles) / o.pages;
        out.push_back(Metric{fmt::format("touch_{}_cycles_per_page", pass), c, "cycles"});
        if (tsc_khz) out.push_back(Metric{fmt::format("touch_{}_ns_per_page", pass),
                                          c * ns_per_cycle, "ns"});
    };
    per_page("first", R_TOUCH_FIRST);
    per_page("again", R_TOUCH_AGAIN);
    per_page("read", R_TOUCH_READ);
    if (const auto cycles = vcpu0.value64(R_TOUCH_CPU); cycles && tsc_khz)
        out.push_back(Metric{"touch_cpu_ns", static_cast<double>(*cycles) * ns_per_cycle, "ns"});
    return out;
}

} // namespace vmm
