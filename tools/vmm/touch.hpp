// The touch benchmark (`--touch-pages N`, docs/vmm.md): what a guest pays for the first
// touch of a page and for work on pages already mapped, in a protected VM (the pages
// private: guest_memfd, and under vbh donated to the VM's domain on first use) and in
// an ordinary one (the VMM's anonymous memory). vCPU 0's passes are payload_touch.S;
// this is memslot 2 that they touch, and the figures and checks made of their reports.
#pragma once

#include "checks.hpp"
#include "kvm.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace vmm {

struct TouchOptions {
    bool protected_vm = false;       // memslot 2 private (guest_memfd) or the VMM's memory
    std::uint32_t pages = 0;         // 1 .. VMM_TOUCH_MAX_PAGES
    std::uint32_t cpu_iters = 0;     // xorshift64 steps of the CPU loop
};

// Memslot 2 at VMM_TOUCH. The VMM's mapping is kept out of transparent huge pages, so
// an ordinary VM also takes one fault per 4 KiB page, like guest_memfd's order-0
// folios: the two first-touch figures compare page for page.
class TouchRegion {
public:
    static Result<std::unique_ptr<TouchRegion>> create(Vm& vm, const TouchOptions& o);
    TouchRegion(const TouchRegion&) = delete;
    ~TouchRegion();

private:
    TouchRegion(std::uint8_t* shared, std::uint64_t bytes) : shared_{shared}, bytes_{bytes} {}
    std::uint8_t* shared_;
    std::uint64_t bytes_;
    Fd gmem_;                        // protected VM: the region's private memory
};

// What the payload's pass 3 must sum to, and its CPU loop must end with. Pure.
std::uint64_t touch_expected_sum(std::uint32_t pages);
std::uint64_t touch_expected_cpu(std::uint32_t iters);

// `touch.sum` and `touch.cpu_value`: every page was written twice and read back, and
// the CPU loop ran its steps (the detail never holds a time).
std::vector<Check> judge_touch(const TouchOptions& o, const Report& vcpu0);

// touch_first_cycles_per_page (and _ns_), touch_again_*, touch_read_* per page,
// touch_cpu_ns for the whole loop. Nothing for a pass that was not reported.
std::vector<Metric> touch_metrics(const TouchOptions& o, std::uint32_t tsc_khz,
                                  const Report& vcpu0);

} // namespace vmm
