// The product's answers to the test hooks (vbh/test_hooks.hpp), against vbh_core_product:
// the core as vbh.bin has it, built without VBH_TEST_HOOKS. TEST_FILL and TEST_HASH are
// unknown calls and DOMAIN_CREATE with VBH_DOMAIN_TEST is an unknown flag bit, whatever
// the arguments, and none of them changes anything. tests/scenarios/nohooks.sh
// shows the same on the booted vbh.bin.
#include "harness.hpp"

namespace vbh::test {
namespace {

class Product : public ::testing::Test {
protected:
    void SetUp() override {
        a = h.create(0);
        ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 600, 4, a.value).status, Status::ok);
    }
    Harness h;
    DomainId a{};
};

TEST_F(Product, TestCallsAreUnknown) {
    // Arguments a test image would accept (a's own frames) and ones it would refuse.
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_TEST_FILL, a.value, 600, 4, 1);
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_TEST_HASH, a.value, 600, 4);
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_TEST_FILL, a.value, low_pfn.value, 1, 7);
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_TEST_HASH, a.value, hyp_pfn.value, 1);
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_TEST_HASH, 0, 0, 0);
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_TEST_FILL, 99, ~0ull, ~0ull, 0);
}

TEST_F(Product, RingThreeStillDeniedFirst) {
    // As for every call number: the caller's ring is checked before the number.
    EXPECT_REJECTED(h, Status::denied, VBH_HC_TEST_HASH, a.value, 600, 4, 0, 3);
}

TEST_F(Product, TestDomainFlagIsInvalid) {
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST);
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST | 2);
    // No slot was used: the next domain is the one after a.
    EXPECT_EQ(h.create(0).value, a.value + 1);
}

TEST_F(Product, OtherCallsUnchanged) {
    EXPECT_EQ(h.call(VBH_HC_VERSION).out0, VBH_ABI_VERSION);
    EXPECT_EQ(h.call(VBH_HC_HOST_RECLAIM, 600, 4, a.value).status, Status::ok);
    EXPECT_EQ(h.call(VBH_HC_DOMAIN_DESTROY, a.value).status, Status::ok);
    EXPECT_TRUE(h.consistent());
}

} // namespace
} // namespace vbh::test
