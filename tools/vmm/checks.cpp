#include "checks.hpp"

#include <fmt/format.h>

namespace vmm {

namespace {

// The timer may be late (the host is busy) but never early: KVM's periodic LAPIC timer
// expires at start + k * period, and coalesced expirations only delay the count. 10%
// slack covers the TSC and the hrtimer running on different clocks.
constexpr double timer_slack = 0.9;

class Judge {
public:
    Judge(unsigned vcpu, const Report& r, std::vector<Check>& out)
        : prefix_{fmt::format("vcpu{}.", vcpu)}, r_{r}, out_{out} {}

    enum Form { hex, decimal, hex64 };  // hex64: records id and id + 1
    void equal(const char* name, unsigned id, std::uint64_t want, Form f = hex) {
        auto got = f == hex64 ? r_.value64(id) : to64(r_.records[id]);
        if (!got) return missing(name);
        const auto show = [f](std::uint64_t v) {
            return f == decimal ? fmt::format("{}", v) : fmt::format("{:#x}", v);
        };
        add(name, *got == want,
            *got == want ? show(want) : fmt::format("got {}, want {}", show(*got), show(want)));
    }
    void add(const char* name, bool ok, std::string detail) {
        out_.push_back(Check{prefix_ + name, ok, std::move(detail)});
    }
    void missing(const char* name) { add(name, false, "not reported"); }
    const Report& report() const { return r_; }

private:
    static std::optional<std::uint64_t> to64(std::optional<std::uint32_t> v) {
        if (!v) return std::nullopt;
        return *v;
    }
    std::string prefix_;
    const Report& r_;
    std::vector<Check>& out_;
};

std::string signature(std::uint32_t ebx, std::uint32_t ecx, std::uint32_t edx) {
    std::string s;
    for (std::uint32_t w : {ebx, ecx, edx})
        for (int i = 0; i < 4; ++i) {
            char c = static_cast<char>((w >> (8 * i)) & 0xFF);
            s += (c >= 0x21 && c < 0x7F) ? c : '.';
        }
    return s;
}

void cpuid_checks(Judge& j, unsigned vcpu) {
    const auto& rec = j.report().records;
    j.equal("cpuid_max_leaf", R_CPUID_MAX, CPUID_VMM_VCPU);
    if (rec[R_CPUID_SIG_EBX] && rec[R_CPUID_SIG_ECX] && rec[R_CPUID_SIG_EDX]) {
        const std::string got = signature(*rec[R_CPUID_SIG_EBX], *rec[R_CPUID_SIG_ECX],
                                          *rec[R_CPUID_SIG_EDX]);
        const std::string want = signature(CPUID_SIG_EBX, CPUID_SIG_ECX, CPUID_SIG_EDX);
        j.add("cpuid_signature", got == want,
              got == want ? got : fmt::format("got {}, want {}", got, want));
    } else {
        j.missing("cpuid_signature");
    }
    j.equal("cpuid_vcpu_leaf", R_CPUID_VCPU, CPUID_VCPU_MAGIC | vcpu);
    j.equal("cpuid_apic_id", R_CPUID_APIC_ID, vcpu, Judge::decimal);
    j.equal("lapic_id", R_LAPIC_ID, vcpu, Judge::decimal);
}

void io_checks(Judge& j, unsigned vcpu) {
    j.equal("pio_echo32", R_PIO_ECHO32, ~(ECHO32_BASE | vcpu) & 0xFFFFFFFFu);
    j.equal("pio_echo8", R_PIO_ECHO8, ~(ECHO8_BASE + vcpu) & 0xFFu);
    j.equal("mmio_id", R_MMIO_ID, MMIO_ID_VALUE);
    j.equal("mmio_window", R_MMIO_WINDOW, vcpu, Judge::decimal);
    // SCRATCH_QUAD, then a byte at +0 and a word at +2 (little endian).
    const std::uint64_t quad = (SCRATCH_QUAD & ~0xFFFF'FFFFull) |
                               (std::uint64_t{SCRATCH_WORD} << 16) |
                               (SCRATCH_QUAD & 0xFF00) | SCRATCH_BYTE;
    j.equal("mmio_quad", R_MMIO_QUAD, quad, Judge::hex64);
    j.equal("mmio_dword", R_MMIO_DWORD, quad >> 32);
    j.equal("mmio_writes", R_MMIO_WRITES, 3, Judge::decimal);
}

void timer_checks(Judge& j, const Expect& e) {
    const Report& r = j.report();
    j.equal("timer_ticks", R_TICKS, e.ticks, Judge::decimal);
    if (r.records[R_HLTS])
        j.add("hlt_wakeups", *r.records[R_HLTS] >= 1 && *r.records[R_HLTS] <= e.ticks,
              *r.records[R_HLTS] >= 1 && *r.records[R_HLTS] <= e.ticks
                  ? "1..ticks"
                  : fmt::format("got {}, want 1..{}", *r.records[R_HLTS], e.ticks));
    else
        j.missing("hlt_wakeups");
    auto cycles = r.value64(R_TIMER_CYCLES);
    if (!cycles) return j.missing("timer_not_early");
    const double want = timer_slack * double(e.ticks) * double(e.period_ns) * e.tsc_khz / 1e6;
    const bool ok = double(*cycles) >= want;
    j.add("timer_not_early", ok,
          ok ? fmt::format(">= {} x ticks x period", timer_slack)
             : fmt::format("{} ticks in {} TSC cycles, want >= {:.0f} ({} ns period, {} kHz)",
                           e.ticks, *cycles, want, e.period_ns, e.tsc_khz));
}

} // namespace

std::vector<Check> judge(const Expect& e, unsigned vcpu, const Report& r) {
    std::vector<Check> out;
    Judge j{vcpu, r, out};
    cpuid_checks(j, vcpu);
    io_checks(j, vcpu);
    timer_checks(j, e);
    j.equal("other_irqs", R_OTHER_IRQS, 0, Judge::decimal);
    j.equal("rendezvous", R_ARRIVED, e.vcpus, Judge::decimal);
    if (vcpu == e.bench_vcpu && e.bench_iterations > 0) {
        const bool ok = r.value64(R_BENCH_CPUID) && r.value64(R_BENCH_PIO);
        j.add("bench_done", ok, ok ? "cpuid pio" : "not reported");
    }
    if (r.records[R_EXC_VECTOR]) {
        j.add("no_exception", false,
              fmt::format("vector {} error {:#x} at rip {:#x}", *r.records[R_EXC_VECTOR],
                          r.records[R_EXC_ERROR].value_or(0), r.value64(R_EXC_RIP).value_or(0)));
    }
    if (!r.stop)
        j.add("stopped", false, "the vCPU did not reach PORT_STOP");
    else
        j.add("stopped", *r.stop == STOP_OK,
              *r.stop == STOP_OK ? "ok" : fmt::format("stop status {}", *r.stop));
    return out;
}

std::vector<Metric> metrics(const Expect& e, unsigned vcpu, const Report& r) {
    std::vector<Metric> out;
    const double ns_per_cycle = e.tsc_khz ? 1e6 / e.tsc_khz : 0;
    if (auto c = r.value64(R_TIMER_CYCLES); c && e.ticks && ns_per_cycle)
        out.push_back({fmt::format("vcpu{}_timer_period_us", vcpu),
                       double(*c) * ns_per_cycle / e.ticks / 1000, "us"});
    if (vcpu != e.bench_vcpu || e.bench_iterations == 0) return out;
    const double n = e.bench_iterations;
    if (auto c = r.value64(R_BENCH_CPUID)) {
        out.push_back({"cpuid_exit_cycles", double(*c) / n, "cycles"});
        if (ns_per_cycle) out.push_back({"cpuid_exit_ns", double(*c) / n * ns_per_cycle, "ns"});
    }
    if (auto c = r.value64(R_BENCH_PIO)) {
        out.push_back({"pio_exit_cycles", double(*c) / n, "cycles"});
        if (ns_per_cycle) out.push_back({"pio_exit_ns", double(*c) / n * ns_per_cycle, "ns"});
    }
    return out;
}

} // namespace vmm
