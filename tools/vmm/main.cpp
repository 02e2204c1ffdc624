// vbh-vmm: a small VMM on the Linux KVM API. It boots a 64-bit payload on N vCPUs
// (default 2) that exercises CPUID, port I/O, MMIO and HLT with LAPIC timer interrupts,
// checks every value the payload read back, and measures the round trip of an in-kernel
// exit (CPUID) and of an exit to user space (port I/O). With --protected its vCPU 0
// also keeps a secret in private memory (KVM_X86_SW_PROTECTED_VM) and converts pages
// private <-> shared; --unprotected runs that stage in an ordinary VM. docs/vmm.md.
// Output (stdout), one record per line:
//   check NAME pass|fail DETAIL      DETAIL is run-independent on pass
//   metric NAME VALUE UNIT
//   info TEXT                        "info protected_ready ..." as soon as it happens
//   error TEXT                       a vCPU that did not finish: its exit and state
//   summary N checks P passed F failed
// Exit codes: 0 every check passed, 1 a check failed or a vCPU did not finish,
// 2 usage, 3 the VM could not be set up (the reason on stderr: no /dev/kvm, an ioctl).
#include "machine.hpp"
#include "options.hpp"

#include <fmt/format.h>

int main(int argc, char** argv) {
    auto args = vmm::parse_args(argc, argv);
    if (!args.options) return args.exit_code;
    const vmm::Options& o = *args.options;

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
