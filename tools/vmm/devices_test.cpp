#include "devices.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace vmm {
namespace {

template <class T>
std::span<const std::uint8_t> bytes(const T& v) {
    return {reinterpret_cast<const std::uint8_t*>(&v), sizeof v};
}

TEST(MmioPage, ScratchTakesEverySizeLittleEndian) {
    MmioPage p{1};
    const std::uint64_t quad = SCRATCH_QUAD;
    const std::uint8_t byte = SCRATCH_BYTE;
    const std::uint16_t word = SCRATCH_WORD;
    ASSERT_TRUE(p.write(MMIO_SCRATCH, bytes(quad)));
    ASSERT_TRUE(p.write(MMIO_SCRATCH, bytes(byte)));
    ASSERT_TRUE(p.write(MMIO_SCRATCH + 2, bytes(word)));
    std::uint64_t q = 0;
    std::uint32_t d = 0, n = 0, id = 0, window = 0;
    ASSERT_TRUE(p.read(MMIO_SCRATCH, {reinterpret_cast<std::uint8_t*>(&q), 8}));
    ASSERT_TRUE(p.read(MMIO_SCRATCH + 4, {reinterpret_cast<std::uint8_t*>(&d), 4}));
    ASSERT_TRUE(p.read(MMIO_WRITES, {reinterpret_cast<std::uint8_t*>(&n), 4}));
    ASSERT_TRUE(p.read(MMIO_ID, {reinterpret_cast<std::uint8_t*>(&id), 4}));
    ASSERT_TRUE(p.read(MMIO_WINDOW, {reinterpret_cast<std::uint8_t*>(&window), 4}));
    EXPECT_EQ(q, 0x11223344BBCC77AAull);
    EXPECT_EQ(d, 0x11223344u);
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(id, std::uint32_t{MMIO_ID_VALUE});
    EXPECT_EQ(window, 1u);
}

TEST(MmioPage, RefusesReadOnlyOutsideAndStraddling) {
    MmioPage p{0};
    const std::uint32_t v = 7;
    EXPECT_FALSE(p.write(MMIO_ID, bytes(v)));
    EXPECT_FALSE(p.write(MMIO_WRITES, bytes(v)));
    EXPECT_FALSE(p.write(MMIO_SCRATCH + 6, bytes(v)));  // 2 bytes past the scratch
    std::uint64_t q;
    EXPECT_FALSE(p.read(MMIO_ID, {reinterpret_cast<std::uint8_t*>(&q), 8}));
    EXPECT_FALSE(p.read(0x800, {reinterpret_cast<std::uint8_t*>(&q), 4}));
    std::uint32_t n = 99;
    ASSERT_TRUE(p.read(MMIO_WRITES, {reinterpret_cast<std::uint8_t*>(&n), 4}));
    EXPECT_EQ(n, 0u);  // refused writes do not count
}

TEST(EchoPort, ComplementInTheAccessSize) {
    EchoPort e;
    const std::uint32_t v = 0x5A5A0001;
    e.out(bytes(v));
    std::uint32_t d = 0;
    e.in({reinterpret_cast<std::uint8_t*>(&d), 4});
    EXPECT_EQ(d, ~v);
    const std::uint8_t b = 0x3D;
    e.out(bytes(b));
    std::uint8_t got = 0;
    e.in({&got, 1});
    EXPECT_EQ(got, std::uint8_t(~b));
}

struct Port {
    std::uint32_t value = 0;
    Verdict on(Devices& d, unsigned vcpu, std::uint16_t port, bool out, unsigned size = 4,
               unsigned count = 1) {
        return d.port(vcpu, PortIo{port, out, size, count, reinterpret_cast<std::uint8_t*>(&value)});
    }
};

TEST(Devices, RecordsPerVcpuAndStops) {
    Devices d{2};
    Port p{0x1234};
    EXPECT_EQ(p.on(d, 1, PORT_RESULT + R_TICKS, true).kind, Verdict::resume);
    EXPECT_EQ(d.report(1).records[R_TICKS], 0x1234u);
    EXPECT_FALSE(d.report(0).records[R_TICKS]);
    p.value = STOP_OK;
    EXPECT_EQ(p.on(d, 1, PORT_STOP, true).kind, Verdict::stop);
    EXPECT_EQ(d.report(1).stop, std::uint32_t{STOP_OK});
    EXPECT_FALSE(d.report(0).stop);
}

TEST(Devices, AnythingElseIsAFaultThatNamesIt) {
    Devices d{1};
    Port p;
    auto v = p.on(d, 0, 0x3F8, true);
    EXPECT_EQ(v.kind, Verdict::fault);
    EXPECT_NE(v.why.find("0x3f8"), std::string::npos) << v.why;
    EXPECT_EQ(p.on(d, 0, PORT_RESULT, false).kind, Verdict::fault);       // IN from results
    EXPECT_EQ(p.on(d, 0, PORT_RESULT, true, 2).kind, Verdict::fault);     // 16-bit record
    EXPECT_EQ(p.on(d, 0, PORT_ECHO, true, 4, 2).kind, Verdict::fault);    // string I/O
    EXPECT_EQ(p.on(d, 0, PORT_NULL, false).kind, Verdict::fault);
    std::uint64_t data = 0;
    auto m = d.mmio(0, MmioAccess{MMIO_BASE + MMIO_STRIDE, false, 4,
                                  reinterpret_cast<std::uint8_t*>(&data)});  // page of vcpu 1
    EXPECT_EQ(m.kind, Verdict::fault);
    EXPECT_NE(m.why.find("0xc0001000"), std::string::npos) << m.why;
    EXPECT_EQ(d.mmio(0, MmioAccess{0x1000, false, 4, reinterpret_cast<std::uint8_t*>(&data)}).kind,
              Verdict::fault);
}

} // namespace
} // namespace vmm
