// The shadow rule for protected guests (docs/nested.md, "Shadow NPT"): under a root
// bound to domain D, a frame D holds as private memory enters the shadow only at the
// gfn it was donated for, with KVM's rights; every other domain frame is refused as a
// hypervisor frame is; under a root bound to none, no domain frame ever enters.
#include "shadow_fixture.hpp"

#include <gtest/gtest.h>

namespace vbh::svm::test {
namespace {

constexpr std::uint64_t read_fault = npf_code::user | npf_code::final_gpa;
constexpr std::uint64_t write_fault = read_fault | npf_code::write;
constexpr std::uint16_t dom_a = 3, dom_b = 4;

struct ShadowDomainTest : ::testing::Test {
    FakeHost host;
    KvmTables kvm{host};
    Pool pool{16};
    ShadowNpt& s = pool.s;

    // KVM maps L2 gfn 0x1234 to frame 0x5678; vbh holds that frame as a's private
    // memory donated for gfn (by default the one KVM maps it at).
    void SetUp() override {
        kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d);
        host.private_frames[0x5678] = {dom_a, 0x1234};
    }
    ShadowFaultResult fault_as(std::uint16_t dom, std::uint64_t info1 = read_fault) {
        s.reset({kvm.root, 5, dom});
        return shadow_npf(host, s, kvm.root, info1, 0x1234abc, walk_caps);
    }
};

TEST_F(ShadowDomainTest, OwnFrameAtItsGfnIsAdmittedWithKvmRights) {
    ASSERT_EQ(fault_as(dom_a, write_fault).how, ShadowFault::mapped);
    const std::uint64_t e = s.lookup(0x1234000);
    EXPECT_EQ(e & 0x000ffffffffff000ull, 0x5678000u);
    EXPECT_TRUE(e & npte::rw);
    // KVM's read-only leaf stays read-only: the frame's rights are KVM's walk's.
    kvm.at(0x1234000, 1) &= ~npte::rw;
    EXPECT_EQ(fault_as(dom_a, write_fault).how, ShadowFault::reflect);
    ASSERT_EQ(fault_as(dom_a).how, ShadowFault::mapped);
    EXPECT_FALSE(s.lookup(0x1234000) & npte::rw);
}

TEST_F(ShadowDomainTest, OwnFrameAtAnotherGfnIsRefused) {
    host.private_frames[0x5678] = {dom_a, 0x1235};
    const auto r = fault_as(dom_a);
    EXPECT_EQ(r.how, ShadowFault::refused);
    EXPECT_EQ(r.addr, 0x5678000u);
    EXPECT_EQ(s.lookup(0x1234000), 0u);
}

TEST_F(ShadowDomainTest, AnotherDomainsFrameIsRefused) {
    EXPECT_EQ(fault_as(dom_b).how, ShadowFault::refused);
    EXPECT_EQ(s.lookup(0x1234000), 0u);
}

TEST_F(ShadowDomainTest, UnboundRootAdmitsNoDomainFrame) {
    EXPECT_EQ(fault_as(0).how, ShadowFault::refused);
    host.private_frames[0x5678] = {0, 0x1234}; // not even a record naming domain 0
    EXPECT_EQ(fault_as(0).how, ShadowFault::refused);
    EXPECT_EQ(s.lookup(0x1234000), 0u);
}

TEST_F(ShadowDomainTest, HostFramesStillEnterABoundRootsShadow) {
    kvm.leaf(0x2000000, 0x7000000, 1, rw_user | npte::d);
    host.frames[0x7000] = perm::rwx;
    s.reset({kvm.root, 5, dom_a});
    EXPECT_EQ(shadow_npf(host, s, kvm.root, read_fault, 0x2000000, walk_caps).how, ShadowFault::mapped);
}

TEST_F(ShadowDomainTest, ReclaimedFrameDoesNotComeBack) {
    ASSERT_EQ(fault_as(dom_a).how, ShadowFault::mapped);
    // GUEST_RECLAIM: the record goes and every CPU drops its shadow (core.hpp,
    // drop_shadows; backend.hpp, flush_stage2); the frame is the host's now, but
    // until the host maps it again vbh refuses it.
    host.private_frames.erase(0x5678);
    s.drop();
    EXPECT_EQ(s.lookup(0x1234000), 0u);
    EXPECT_EQ(shadow_npf(host, s, kvm.root, read_fault, 0x1234abc, walk_caps).how, ShadowFault::refused);
}

TEST_F(ShadowDomainTest, KeysOfDifferentDomainsDiffer) {
    EXPECT_NE((ShadowNpt::Key{kvm.root, 5, dom_a}), (ShadowNpt::Key{kvm.root, 5, dom_b}));
    EXPECT_NE((ShadowNpt::Key{kvm.root, 5, dom_a}), (ShadowNpt::Key{kvm.root, 5, 0}));
}

} // namespace
} // namespace vbh::svm::test
