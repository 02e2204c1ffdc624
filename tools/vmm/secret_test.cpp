#include "secret_checks.hpp"
#include "stream.hpp"

#include <gtest/gtest.h>

#include <vector>

// payload_stream.S, the guest's code, linked here.
extern "C" std::uint64_t stream_fill(void* at, std::uint64_t qwords, std::uint64_t seed);
extern "C" std::uint64_t stream_diff(const void* at, std::uint64_t qwords, std::uint64_t seed);

namespace vmm {
namespace {

constexpr std::uint64_t seed = 0x0123456789ABCDEF;
constexpr std::uint64_t qwords = VMM_SECRET_SIZE / 8;

TEST(SecretStream, IsXorshift64Star) {
    // Step 1 from seed 1 by hand: 1 ^ (1 >> 12) = 1; ^ (1 << 25) = 0x2000001;
    // ^ (0x2000001 >> 27) = 0x2000001; times the multiplier.
    EXPECT_EQ(stream_qword(1, 0), 0x2000001ull * 0x2545F4914F6CDD1Dull);
    EXPECT_NE(stream_qword(seed, 0), stream_qword(seed, 1));
}

TEST(SecretStream, ThePayloadsCodeWritesWhatTheVmmExpects) {
    std::vector<std::uint8_t> guest(VMM_SECRET_SIZE), vmm(VMM_SECRET_SIZE);
    const std::uint64_t last = ::stream_fill(guest.data(), qwords, seed);
    vmm::stream_fill(vmm, seed);
    EXPECT_EQ(guest, vmm);
    EXPECT_EQ(last, stream_qword(seed, qwords - 1));
    EXPECT_EQ(::stream_fill(guest.data(), 0, seed), 0u);
}

TEST(SecretStream, BothCountEveryDifferingByte) {
    std::vector<std::uint8_t> mem(VMM_SECRET_SIZE);
    vmm::stream_fill(mem, seed);
    EXPECT_EQ(::stream_diff(mem.data(), qwords, seed), 0u);
    EXPECT_EQ(vmm::stream_diff(mem, seed), 0u);
    mem[0] ^= 1;
    mem[9] ^= 0x80;
    mem[VMM_SECRET_SIZE - 1] = ~mem[VMM_SECRET_SIZE - 1];
    EXPECT_EQ(::stream_diff(mem.data(), qwords, seed), 3u);
    EXPECT_EQ(vmm::stream_diff(mem, seed), 3u);
    vmm::stream_fill(mem, seed);
    for (auto& b : mem) b = ~b;  // what --scribble leaves: every byte differs
    EXPECT_EQ(::stream_diff(mem.data(), qwords, seed), VMM_SECRET_SIZE);
    EXPECT_EQ(::stream_diff(mem.data(), qwords, seed + 1), vmm::stream_diff(mem, seed + 1));
}

TEST(SecretStream, SameQwordsCountsWholeQwordsInPlace) {
    std::vector<std::uint8_t> mem(VMM_SECRET_SIZE);
    EXPECT_EQ(vmm::stream_same_qwords(mem, seed), 0u);  // zeros: no qword of the stream
    vmm::stream_fill(mem, seed);
    EXPECT_EQ(vmm::stream_same_qwords(mem, seed), qwords);
    mem[9] ^= 0x80;                                     // one byte: one qword less
    EXPECT_EQ(vmm::stream_same_qwords(mem, seed), qwords - 1);
    EXPECT_EQ(vmm::stream_same_qwords(mem, seed + 1), 0u);
    std::vector<std::uint8_t> shifted(VMM_SECRET_SIZE);  // the stream one qword late
    std::copy(mem.begin(), mem.end() - 8, shifted.begin() + 8);
    EXPECT_EQ(vmm::stream_same_qwords(shifted, seed), 0u);
}

TEST(SecretConversion, OnlyWholePagesOfTheRegion) {
    const std::uint64_t first = VMM_SECRET + VMM_SECRET_SHARED_FIRST * 0x1000;
    auto c = classify_conversion(first, 1, 0);
    EXPECT_TRUE(c.ok);
    EXPECT_FALSE(c.to_private);
    EXPECT_EQ(c.first_page, VMM_SECRET_SHARED_FIRST);
    c = classify_conversion(VMM_SECRET, VMM_SECRET_PAGES, HC_MAP_ENCRYPTED);
    EXPECT_TRUE(c.ok);
    EXPECT_TRUE(c.to_private);
    EXPECT_EQ(c.pages, std::uint64_t{VMM_SECRET_PAGES});
    EXPECT_FALSE(classify_conversion(first + 8, 1, 0).ok);                 // not aligned
    EXPECT_FALSE(classify_conversion(VMM_SECRET - 0x1000, 1, 0).ok);       // RAM below
    EXPECT_FALSE(classify_conversion(VMM_SECRET, VMM_SECRET_PAGES + 1, 0).ok);
    EXPECT_FALSE(classify_conversion(VMM_SECRET + 0x1000, ~0ull, 0).ok);   // wraps
    EXPECT_FALSE(classify_conversion(first, 0, 0).ok);
    EXPECT_FALSE(classify_conversion(first, 1, 1).ok);                      // 2 MiB pages
    EXPECT_FALSE(classify_conversion(first, 1, HC_MAP_ENCRYPTED | 2).ok);
    EXPECT_FALSE(usable_seed(0));
    EXPECT_FALSE(usable_seed(SECRET_SHARED_SALT));
    EXPECT_TRUE(usable_seed(seed));
}

void put64(Report& r, unsigned id, std::uint64_t v) {
    r.records[id] = std::uint32_t(v);
    r.records[id + 1] = std::uint32_t(v >> 32);
}

// What a correct payload and VMM report for the secret stage.
Report good() {
    Report r;
    put64(r, R_SECRET_LAST, stream_qword(seed, qwords - 1));
    r.records[R_SECRET_WRITE_DIFF] = 0;
    r.records[R_SECRET_HC_OK] = secret_conversion_calls;
    r.records[R_SECRET_HC_ERR] = 0;
    put64(r, R_SECRET_SHARED_QWORD, stream_qword(seed ^ SECRET_SHARED_SALT, 0));
    r.records[R_SECRET_SHARED_DIFF] = 0;
    r.records[R_SECRET_FINAL_DIFF] = 0;
    return r;
}
constexpr ConversionTally good_tally{secret_conversion_calls, VMM_SECRET_SHARED_PAGES,
                                     VMM_SECRET_SHARED_PAGES, 0};

// The names of the checks that failed.
std::vector<std::string> failed(const Report& r, const ConversionTally& t = good_tally) {
    std::vector<std::string> out;
    for (const auto& c : judge_secret(seed, r, t))
        if (!c.ok) out.push_back(c.name);
    return out;
}
using Names = std::vector<std::string>;

TEST(SecretChecks, ACorrectRunPassesAllFour) {
    const auto c = judge_secret(seed, good(), good_tally);
    ASSERT_EQ(c.size(), 4u);
    for (const auto& x : c) EXPECT_TRUE(x.ok) << x.name << ": " << x.detail;
    EXPECT_EQ(c[0].name, "protected.secret_written");
    EXPECT_EQ(c[0].detail, "65536 bytes");
    EXPECT_EQ(c[1].detail, "5 calls: 4 pages shared, 4 private");
    EXPECT_EQ(c[2].detail, "16384 bytes");
    EXPECT_EQ(c[3].name, "protected.secret_intact");
    EXPECT_EQ(c[3].detail, "0 of 65536 bytes differ after the hold");
    // Passing details hold no seed: another seed gives the same lines.
    Report other = good();
    put64(other, R_SECRET_LAST, stream_qword(seed + 1, qwords - 1));
    put64(other, R_SECRET_SHARED_QWORD, stream_qword((seed + 1) ^ SECRET_SHARED_SALT, 0));
    const auto d = judge_secret(seed + 1, other, good_tally);
    for (std::size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c[i].detail, d[i].detail);
}

TEST(SecretChecks, EachWrongValueFailsItsOwnCheck) {
    Report r = good();
    put64(r, R_SECRET_LAST, 0x1234);  // another generator, or another seed
    EXPECT_EQ(failed(r), Names{"protected.secret_written"});
    r = good();
    r.records[R_SECRET_WRITE_DIFF] = 1;
    EXPECT_EQ(failed(r), Names{"protected.secret_written"});
    r = good();
    r.records[R_SECRET_HC_OK] = secret_conversion_calls - 1;
    r.records[R_SECRET_HC_ERR] = 0xFFFFFFEA;  // -KVM_EINVAL
    EXPECT_EQ(failed(r), Names{"protected.conversions"});
    ConversionTally t = good_tally;
    t.to_shared_pages = 3;
    EXPECT_EQ(failed(good(), t), Names{"protected.conversions"});
    t = good_tally;
    t.refused = 1;
    EXPECT_EQ(failed(good(), t), Names{"protected.conversions"});
    r = good();
    put64(r, R_SECRET_SHARED_QWORD, stream_qword(seed, 0));  // read its secret, not the VMM's data
    EXPECT_EQ(failed(r), Names{"protected.shared_data"});
    r = good();
    r.records[R_SECRET_SHARED_DIFF] = 4096;
    EXPECT_EQ(failed(r), Names{"protected.shared_data"});
    r = good();
    r.records[R_SECRET_FINAL_DIFF] = VMM_SECRET_SIZE;
    const auto c = judge_secret(seed, r, good_tally);
    EXPECT_EQ(failed(r), Names{"protected.secret_intact"});
    EXPECT_EQ(c[3].detail, "65536 of 65536 bytes differ after the hold");
}

TEST(SecretChecks, NothingReportedFailsAll) {
    EXPECT_EQ(failed(Report{}, ConversionTally{}),
              (Names{"protected.secret_written", "protected.conversions",
                     "protected.shared_data", "protected.secret_intact"}));
}

// A SecretHost that records what Devices handed it.
class FakeHost : public SecretHost {
public:
    Verdict map_gpa_range(const Hypercall& call) override {
        last_gpa = call.args[0];
        *call.ret = 0;
        return {};
    }
    Verdict sync() override {
        ++syncs;
        return {};
    }
    std::uint64_t last_gpa = 0;
    unsigned syncs = 0;
};

TEST(SecretDevices, TheSyncPortAndTheHypercallGoToTheHost) {
    Devices d{1};
    std::uint64_t ret = 7;
    std::uint8_t data[4] = {};
    const PortIo sync{PORT_SECRET_SYNC, true, 4, 1, data};
    const Hypercall call{HC_MAP_GPA_RANGE, {VMM_SECRET, 1, 0}, &ret};
    EXPECT_EQ(d.port(0, sync).kind, Verdict::fault);  // no stage: no such device
    EXPECT_EQ(d.hypercall(0, call).kind, Verdict::fault);
    FakeHost host;
    d.attach(&host);
    EXPECT_EQ(d.port(0, sync).kind, Verdict::resume);
    EXPECT_EQ(host.syncs, 1u);
    EXPECT_EQ(d.hypercall(0, call).kind, Verdict::resume);
    EXPECT_EQ(ret, 0u);
    EXPECT_EQ(host.last_gpa, std::uint64_t{VMM_SECRET});
    const Hypercall other{1, {0, 0, 0}, &ret};  // KVM_HC_VAPIC_POLL_IRQ: never enabled
    EXPECT_EQ(d.hypercall(0, other).kind, Verdict::fault);
    const PortIo in{PORT_SECRET_SYNC, false, 4, 1, data};
    EXPECT_EQ(d.port(0, in).kind, Verdict::fault);
}

} // namespace
} // namespace vmm
