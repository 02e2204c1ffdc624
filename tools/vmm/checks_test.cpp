#include "checks.hpp"

#include <gtest/gtest.h>

#include <set>

namespace vmm {
namespace {

constexpr Expect expect{2, 20, 1'000'000, 2'000'000, 1000, 0};

void put64(Report& r, unsigned id, std::uint64_t v) {
    r.records[id] = std::uint32_t(v);
    r.records[id + 1] = std::uint32_t(v >> 32);
}

// What a correct payload reports on vCPU i, timer at `cycles` TSC cycles for 20 ticks.
Report good(unsigned i, std::uint64_t timer_cycles = 45'000'000) {
    Report r;
    r.records[R_CPUID_MAX] = CPUID_VMM_VCPU;
    r.records[R_CPUID_SIG_EBX] = CPUID_SIG_EBX;
    r.records[R_CPUID_SIG_ECX] = CPUID_SIG_ECX;
    r.records[R_CPUID_SIG_EDX] = CPUID_SIG_EDX;
    r.records[R_CPUID_VCPU] = CPUID_VCPU_MAGIC | i;
    r.records[R_CPUID_APIC_ID] = i;
    r.records[R_LAPIC_ID] = i;
    r.records[R_PIO_ECHO32] = ~(ECHO32_BASE | i);
    r.records[R_PIO_ECHO8] = ~(ECHO8_BASE + i) & 0xFF;
    r.records[R_MMIO_ID] = MMIO_ID_VALUE;
    r.records[R_MMIO_WINDOW] = i;
    put64(r, R_MMIO_QUAD, 0x11223344BBCC77AA);
    r.records[R_MMIO_DWORD] = 0x11223344;
    r.records[R_MMIO_WRITES] = 3;
    r.records[R_TICKS] = 20;
    r.records[R_HLTS] = 19;
    put64(r, R_TIMER_CYCLES, timer_cycles);
    r.records[R_OTHER_IRQS] = 0;
    r.records[R_ARRIVED] = 2;
    if (i == 0) {
        put64(r, R_BENCH_CPUID, 3'000'000);
        put64(r, R_BENCH_PIO, 9'000'000);
    }
    r.stop = STOP_OK;
    return r;
}

const Check& find(const std::vector<Check>& c, const std::string& name) {
    for (const auto& x : c)
        if (x.name == name) return x;
    static const Check none{"(none)", true, ""};
    ADD_FAILURE() << "no check " << name;
    return none;
}

TEST(Checks, ACorrectRunPassesEveryCheck) {
    for (unsigned i : {0u, 1u}) {
        const auto c = judge(expect, i, good(i));
        std::set<std::string> names;
        for (const auto& x : c) {
            EXPECT_TRUE(x.ok) << x.name << ": " << x.detail;
            EXPECT_TRUE(names.insert(x.name).second) << "twice: " << x.name;
            EXPECT_EQ(x.name.rfind("vcpu" + std::to_string(i) + ".", 0), 0u) << x.name;
        }
        EXPECT_EQ(c.size(), i == 0 ? 19u : 18u);  // vCPU 0 also ran the benchmark
        EXPECT_EQ(find(c, "vcpu" + std::to_string(i) + ".cpuid_signature").detail, "vbh-vmm-test");
    }
}

TEST(Checks, PassingDetailsDoNotDependOnTiming) {
    const auto a = judge(expect, 1, good(1, 40'000'000));
    auto slow = good(1, 90'000'000);
    slow.records[R_HLTS] = 12;
    const auto b = judge(expect, 1, slow);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
        EXPECT_EQ(a[k].name, b[k].name);
        EXPECT_EQ(a[k].detail, b[k].detail) << a[k].name;
    }
}

TEST(Checks, EachWrongValueFailsItsCheck) {
    struct Case {
        unsigned id;
        std::uint32_t value;
        const char* check;
    } cases[] = {
        {R_CPUID_MAX, 0x40000010, "cpuid_max_leaf"}, {R_CPUID_SIG_ECX, 0x4D564B4D, "cpuid_signature"},
        {R_CPUID_VCPU, CPUID_VCPU_MAGIC, "cpuid_vcpu_leaf"}, {R_CPUID_APIC_ID, 0, "cpuid_apic_id"},
        {R_LAPIC_ID, 0, "lapic_id"}, {R_PIO_ECHO32, ECHO32_BASE | 1, "pio_echo32"},
        {R_PIO_ECHO8, 0xFF, "pio_echo8"}, {R_MMIO_ID, 0, "mmio_id"},
        {R_MMIO_WINDOW, 0, "mmio_window"}, {R_MMIO_QUAD, 0x55667788, "mmio_quad"},
        {R_MMIO_DWORD, 0, "mmio_dword"}, {R_MMIO_WRITES, 1, "mmio_writes"},
        {R_TICKS, 19, "timer_ticks"}, {R_HLTS, 0, "hlt_wakeups"}, {R_HLTS, 21, "hlt_wakeups"},
        {R_OTHER_IRQS, 1, "other_irqs"}, {R_ARRIVED, 1, "rendezvous"},
    };
    for (const auto& k : cases) {
        Report r = good(1);
        r.records[k.id] = k.value;
        const auto c = judge(expect, 1, r);
        for (const auto& x : c)
            EXPECT_EQ(x.ok, x.name != std::string{"vcpu1."} + k.check) << x.name << ": " << x.detail;
        EXPECT_NE(find(c, std::string{"vcpu1."} + k.check).detail.find("want"), std::string::npos);
    }
}

TEST(Checks, MissingRecordsExceptionsAndNoStopFail) {
    Report r = good(1);
    r.records[R_MMIO_QUAD + 1].reset();
    r.records[R_TICKS].reset();
    EXPECT_EQ(find(judge(expect, 1, r), "vcpu1.mmio_quad").detail, "not reported");
    EXPECT_FALSE(find(judge(expect, 1, r), "vcpu1.timer_ticks").ok);

    r = good(1);
    r.records[R_EXC_VECTOR] = 14;
    r.records[R_EXC_ERROR] = 2;
    put64(r, R_EXC_RIP, 0x100123);
    r.stop = STOP_EXCEPTION;
    auto c = judge(expect, 1, r);
    EXPECT_EQ(find(c, "vcpu1.no_exception").detail, "vector 14 error 0x2 at rip 0x100123");
    EXPECT_FALSE(find(c, "vcpu1.stopped").ok);

    r = good(0);
    r.stop.reset();
    r.records[R_BENCH_PIO].reset();
    c = judge(expect, 0, r);
    EXPECT_FALSE(find(c, "vcpu0.stopped").ok);
    EXPECT_FALSE(find(c, "vcpu0.bench_done").ok);
}

TEST(Checks, TimerThatRunsFastFails) {
    // 20 ticks of 1 ms at 2 GHz take at least 40M cycles; 90% of that is the floor.
    EXPECT_TRUE(find(judge(expect, 1, good(1, 36'000'000)), "vcpu1.timer_not_early").ok);
    const auto c = judge(expect, 1, good(1, 35'999'999));
    EXPECT_FALSE(find(c, "vcpu1.timer_not_early").ok);
    EXPECT_NE(find(c, "vcpu1.timer_not_early").detail.find("35999999 TSC cycles"), std::string::npos);
}

TEST(Checks, MetricsArePerExit) {
    const auto m = metrics(expect, 0, good(0, 40'000'000));
    ASSERT_EQ(m.size(), 5u);
    EXPECT_EQ(m[0].name, "vcpu0_timer_period_us");
    EXPECT_DOUBLE_EQ(m[0].value, 1000.0);
    EXPECT_EQ(m[1].name, "cpuid_exit_cycles");
    EXPECT_DOUBLE_EQ(m[1].value, 3000.0);
    EXPECT_EQ(m[2].name, "cpuid_exit_ns");
    EXPECT_DOUBLE_EQ(m[2].value, 1500.0);
    EXPECT_EQ(m[3].name, "pio_exit_cycles");
    EXPECT_DOUBLE_EQ(m[4].value, 4500.0);
    EXPECT_EQ(metrics(expect, 1, good(1)).size(), 1u);  // no benchmark on vCPU 1
}

} // namespace
} // namespace vmm
