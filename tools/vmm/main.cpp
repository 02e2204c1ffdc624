// vbh-vmm: a small VMM on the Linux KVM API. It boots a 64-bit payload on N vCPUs
// (default 2) that exercises CPUID, port I/O, MMIO and HLT with LAPIC timer interrupts,
// checks every value the payload read back, and measures the round trip of an in-kernel
// exit (CPUID) and of an exit to user space (port I/O). docs/vmm.md.
// Output (stdout), one record per line:
//   check NAME pass|fail DETAIL      DETAIL is run-independent on pass
//   metric NAME VALUE UNIT
//   info TEXT
//   error TEXT                       a vCPU that did not finish: its exit and state
//   summary N checks P passed F failed
// Exit codes: 0 every check passed, 1 a check failed or a vCPU did not finish,
// 2 usage, 3 the VM could not be set up (the reason on stderr: no /dev/kvm, an ioctl).
#include "machine.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

int main(int argc, char** argv) {
    vmm::Options o;
    CLI::App app{"vbh-vmm: boot a 64-bit test payload under KVM and check its results"};
    app.add_option("--vcpus", o.vcpus, "vCPUs")->check(CLI::Range(1u, unsigned{VMM_MAX_VCPUS}));
    app.add_option("--ticks", o.ticks, "LAPIC timer interrupts each vCPU waits for in HLT")
        ->check(CLI::Range(1u, 100000u));
    app.add_option("--period-us", o.period_us, "LAPIC timer period")
        ->check(CLI::Range(200u, 1000000u));  // KVM raises shorter periods to 200 us
    app.add_option("-i,--iterations", o.iterations, "exits per benchmark loop, 0: none")
        ->check(CLI::Range(0u, 100000000u));
    app.add_option("--timeout", o.timeout_s, "seconds for the whole run")
        ->check(CLI::Range(1u, 3600u));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    auto out = vmm::run_machine(o);
    if (!out) {
        fmt::print(stderr, "vbh-vmm: {}\n", out.error().message);
        return 3;
    }
    for (const auto& i : out->info) fmt::print("info {}\n", i);
    for (const auto& m : out->metrics) fmt::print("metric {} {:.1f} {}\n", m.name, m.value, m.unit);
    unsigned passed = 0;
    for (const auto& c : out->checks) {
        fmt::print("check {} {} {}\n", c.name, c.ok ? "pass" : "fail", c.detail);
        passed += c.ok;
    }
    for (const auto& f : out->failures) fmt::print("error {}\n", f);
    const auto failed = out->checks.size() - passed;
    fmt::print("summary {} checks {} passed {} failed\n", out->checks.size(), passed, failed);
    return failed == 0 && out->failures.empty() ? 0 : 1;
}
