// Stage2Mirror (vbh/stage2_mirror.hpp): every host stage-2 change reaches every table in
// the list. Unit tests over recording fakes, then the core driving an NPT and a VT-d
// table through the mirror: after every hypercall of long random sequences (with
// refusals injected into the mirror and its page-table pool drained at random) the
// IOMMU table maps exactly what the NPT maps, and a refused call changed neither.
#include "fake_platform.hpp"
#include "mirror_machine.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

namespace vbh::test {
namespace {

constexpr std::uint64_t mib = 1ull << 20;

// --- The fan-out itself, over the core tests' recording fake --------------------------

TEST(Stage2Mirror, EveryCallReachesEveryMember) {
    FakeStage2 b{64}, c{64};
    Stage2Mirror<FakeStage2, FakeStage2, FakeStage2> m{b, c, 64}; // the primary is m
    static_assert(HostStage2<decltype(m)>);
    FakeStage2& a = m.primary();
    const FrameRange r{Pfn{8}, 4};
    ASSERT_TRUE(m.reserve(r).has_value());
    EXPECT_EQ(a.reservations() + b.reservations() + c.reservations(), 3u);
    m.map_identity(r);
    m.unmap(FrameRange{Pfn{9}, 1});
    m.flush_all_cpus();
    for (FakeStage2* s : {&a, &b, &c}) {
        EXPECT_TRUE(s->mapped(Pfn{8}) && !s->mapped(Pfn{9}) && s->mapped(Pfn{11}));
        EXPECT_EQ(s->flushes(), 1u);
    }
    m.release();
    EXPECT_EQ(a.reservations() + b.reservations() + c.reservations(), 0u);
}

TEST(Stage2Mirror, ARefusalAnywhereReleasesEveryMember) {
    for (int refuser = 0; refuser < 3; ++refuser) {
        FakeStage2 b{64}, c{64};
        Stage2Mirror<FakeStage2, FakeStage2, FakeStage2> m{b, c, 64};
        FakeStage2* s[3] = {&m.primary(), &b, &c};
        ASSERT_TRUE(m.reserve(FrameRange{Pfn{1}, 1}).has_value());
        s[refuser]->set_budget(1); // its second reserve fails
        auto r = m.reserve(FrameRange{Pfn{2}, 1});
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error(), Status::no_memory);
        for (auto* x : s)
            EXPECT_EQ(x->reservations(), 0u) << "refuser " << refuser;
    }
}

// --- The core through the mirror: an NPT and a VT-d table ------------------------------

using Machine = MirrorMachine<40>;

// 16 MiB: RAM 0..4 MiB and 6..16 MiB (a hole between), hypervisor memory at 1 MiB.
Machine machine() { return Machine({{0, 4 * mib}, {6 * mib, 10 * mib}}, {{mib, 64 * 1024}}); }

struct State {
    std::vector<std::uint16_t> meta;
    DomainTable domains;
    std::vector<ept::Leaf> npt, vtd;
    bool operator==(const State&) const = default;
};

// Translations, not table shapes: leaves that continue one another are joined (a
// deferred re-merge may be done by any later call, a refused one included).
void push_joined(std::vector<ept::Leaf>& out, const ept::Leaf& l) {
    if (!out.empty()) {
        ept::Leaf& b = out.back();
        if (b.va + b.size == l.va && b.pa + b.size == l.pa && b.attrs == l.attrs) {
            b.size += l.size;
            return;
        }
    }
    out.push_back(ept::Leaf{l.va, l.pa, l.size, l.attrs, 0});
}

State capture(const Machine& m) {
    State s{m.meta, m.core->domains(), {}, {}};
    m.npt->for_each(0, m.top << frame_shift, [&](const ept::Leaf& l) { push_joined(s.npt, l); });
    m.vtd->for_each(0, m.top << frame_shift, [&](const ept::Leaf& l) { push_joined(s.vtd, l); });
    return s;
}

TEST(Stage2MirrorCore, StartsEqualAndDonateReachesBothIommuFlushFirst) {
    auto m = machine();
    ASSERT_TRUE(m.init_ok);
    EXPECT_EQ(m.mismatch(), "");
    auto d = m.call(VBH_HC_DOMAIN_CREATE, 0).out0;
    const std::uint64_t pfn = (8 * mib + 0x3000) >> frame_shift;
    ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, pfn, 3, d).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_FALSE(m.vtd->lookup(pfn << frame_shift).has_value());
    EXPECT_EQ(m.order, "vn"); // the IOMMU has invalidated before the CPUs (and pool release)
    ASSERT_EQ(m.call(VBH_HC_HOST_RECLAIM, pfn, 3, d).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_TRUE(m.vtd->lookup(pfn << frame_shift).has_value());
    EXPECT_FALSE(m.checked->unflushed());
}

// A refusal injected at each reserve of a multi-range call: no_memory, nothing changed.
TEST(Stage2MirrorCore, RefusedReserveChangesNeitherTable) {
    auto m = machine();
    auto d = m.call(VBH_HC_DOMAIN_CREATE, 0).out0;
    // A domain owning three separate runs, for a three-reserve destroy.
    for (std::uint64_t p : {0x700ull, 0x900ull, 0xb00ull})
        ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, p, 2, d).status, Status::ok);
    std::uint64_t* list = m.mem.words(Pfn{0x300});
    const std::uint64_t ranges[] = {0x640, 1, 0x801, 5, 0xc00, 512};
    std::copy(std::begin(ranges), std::end(ranges), list);
    for (int at = 0; at < 3; ++at) {
        const State before = capture(m);
        m.checked->refuse_reserve(at);
        EXPECT_EQ(m.call(VBH_HC_HOST_DONATE_LIST, Pfn{0x300}.phys(), 3, d).status, Status::no_memory);
        EXPECT_TRUE(capture(m) == before) << "donate_list refused at reserve " << at;
        m.checked->refuse_reserve(at);
        EXPECT_EQ(m.call(VBH_HC_DOMAIN_DESTROY, d).status, Status::no_memory);
        EXPECT_TRUE(capture(m) == before) << "destroy refused at reserve " << at;
        EXPECT_FALSE(m.checked->holds_reservation());
    }
    m.checked->refuse_reserve(-1);
    EXPECT_EQ(m.call(VBH_HC_HOST_DONATE_LIST, Pfn{0x300}.phys(), 3, d).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_EQ(m.call(VBH_HC_DOMAIN_DESTROY, d).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
}

// The mirror's own engine refuses (its pool cannot pay for the split) while the NPT
// could: the call fails whole.
TEST(Stage2MirrorCore, MirrorPoolTooSmallRefusesTheCall) {
    auto m = machine();
    auto d = m.call(VBH_HC_DOMAIN_CREATE, 0).out0;
    while (m.vtd_pool->available() > 0)
        ASSERT_TRUE(m.vtd_pool->alloc().has_value());
    const State before = capture(m);
    const std::uint64_t npt_free = m.npt_pool->available();
    EXPECT_EQ(m.call(VBH_HC_HOST_DONATE, (10 * mib + 0x5000) >> frame_shift, 1, d).status, Status::no_memory);
    EXPECT_TRUE(capture(m) == before);
    EXPECT_EQ(m.npt_pool->available(), npt_free);
    EXPECT_EQ(m.order, "");
}

// --- Random sequences ------------------------------------------------------------------

class Driver {
public:
    Driver(Machine& m, std::uint64_t seed) : m_{m}, rng_{seed} {}

    std::uint64_t below(std::uint64_t n) { return rng_() % n; }

    std::uint64_t pfn() {
        switch (below(6)) {
        case 0: return 256 + below(20);                    // around hypervisor memory
        case 1: return 512 * (1 + below(7)) - below(3);    // 2 MiB boundaries
        case 2: return recent_ + below(4);
        default: return recent_ = below(m_.top + 16);
        }
    }
    std::uint64_t count() {
        switch (below(5)) {
        case 0: return 512;
        case 1: return 1 + below(1100);
        default: return 1 + below(8);
        }
    }
    std::uint64_t dom() { return live_.empty() || below(8) == 0 ? below(6) : live_[below(live_.size())]; }

    // The host writes a donate_list array into a frame it owns.
    std::uint64_t list(std::uint64_t& entries) {
        Pfn frame{below(m_.top)};
        while (!m_.core->frames().at(frame).host_mapped())
            frame = Pfn{(frame.value + 97) % m_.top};
        entries = 1 + below(3);
        std::uint64_t* w = m_.mem.words(frame);
        const std::uint64_t base = pfn();
        for (std::uint64_t i = 0; i < entries; ++i) // mostly disjoint, mostly small
            w[2 * i] = base + 24 * i, w[2 * i + 1] = below(4) == 0 ? count() : 1 + below(16);
        return frame.phys();
    }

    HypercallRegs next() {
        switch (below(12)) {
        case 0: return {VBH_HC_DOMAIN_CREATE, below(2), 0, 0, 0};
        case 1: return {VBH_HC_DOMAIN_DESTROY, dom(), 0, 0, 0};
        case 2: return {VBH_HC_HOST_SHARE, pfn(), count(), dom(), 0};
        case 3: return {VBH_HC_HOST_UNSHARE, pfn(), count(), dom(), 0};
        case 4: return {VBH_HC_HYP_DONATE, pfn(), 1 + below(4), 0, 0};
        case 5: {
            std::uint64_t entries;
            std::uint64_t pa = list(entries);
            return {VBH_HC_HOST_DONATE_LIST, pa, entries, dom(), 0};
        }
        case 6:
        case 7:
        case 8: return reclaim();
        default: return {VBH_HC_HOST_DONATE, pfn(), count(), dom(), 0};
        }
    }

    // Mostly (part of) a range donated earlier: random ranges rarely belong to the domain.
    HypercallRegs reclaim() {
        if (donated_.empty() || below(4) == 0)
            return {VBH_HC_HOST_RECLAIM, pfn(), count(), dom(), 0};
        const HypercallRegs& d = donated_[below(donated_.size())];
        const std::uint64_t skip = below(d.rsi), n = 1 + below(d.rsi - skip);
        return {VBH_HC_HOST_RECLAIM, d.rdi + skip, below(3) == 0 ? d.rsi - skip : n, d.rdx, 0};
    }

    void created(const HypercallRegs& r, const HypercallOut& out) {
        if (r.rax == VBH_HC_HOST_DONATE && out.status == Status::ok)
            donated_.push_back(r);
        if (r.rax == VBH_HC_DOMAIN_CREATE && out.status == Status::ok)
            live_.push_back(out.out0);
        if (r.rax == VBH_HC_DOMAIN_DESTROY && out.status == Status::ok)
            std::erase(live_, r.rdi);
    }

    // Drain the mirror's pool down to a few frames, or give all back: the IOMMU engine
    // then refuses splits the NPT could still pay for.
    void steal_or_return() {
        if (below(2) == 0) {
            for (auto f : stolen_)
                m_.vtd_pool->free(f);
            stolen_.clear();
            return;
        }
        const std::uint64_t keep = below(3);
        while (m_.vtd_pool->available() > keep)
            stolen_.push_back(*m_.vtd_pool->alloc());
    }

private:
    Machine& m_;
    std::mt19937_64 rng_;
    std::uint64_t recent_ = 2048;
    std::vector<std::uint64_t> live_;
    std::vector<HypercallRegs> donated_;
    std::vector<std::uint64_t> stolen_;
};

TEST(Stage2MirrorCore, RandomSequencesKeepTheIommuTableEqualToTheNpt) {
    std::uint64_t ok[0x30] = {}, injected = 0, refused = 0, retried = 0;
    for (std::uint64_t seed = 1; seed <= 24; ++seed) {
        auto m = machine();
        ASSERT_TRUE(m.init_ok);
        Driver drv{m, seed};
        State before = capture(m);
        for (int i = 0; i < 150; ++i) {
            if (drv.below(10) == 0)
                drv.steal_or_return();
            const bool inject = drv.below(8) == 0;
            m.checked->refuse_reserve(inject ? int(drv.below(3)) : -1);
            const HypercallRegs regs = drv.next();
            const HypercallOut out = m.core->dispatch(regs, Cpl{0});
            drv.created(regs, out);
            const State after = capture(m);
            SCOPED_TRACE("seed " + std::to_string(seed) + " call " + std::to_string(i) + " nr " +
                         std::to_string(regs.rax) + " status " + to_string(out.status));
            ASSERT_EQ(m.mismatch(), "");
            ASSERT_FALSE(m.checked->unflushed()) << "an IOMMU edit was not flushed before return";
            ASSERT_EQ(m.unit_state.writes_at_invalidation, m.vtd_pool->writes)
                << "the call returned with IOMMU table writes no completed invalidation covered";
            ASSERT_FALSE(m.checked->holds_reservation());
            // An injected refusal stands, unless the core re-merged deferred tables and
            // asked again (core.hpp, reserve_all).
            if (m.checked->refused() && m.checked->retried()) {
                ++retried;
            } else if (m.checked->refused()) {
                ++injected;
                ASSERT_EQ(out.status, Status::no_memory);
            }
            if (out.status != Status::ok)
                ASSERT_TRUE(after == before) << "a refused call changed state";
            else if (regs.rax < 0x30)
                ++ok[regs.rax];
            refused += out.status == Status::no_memory;
            before = after;
        }
    }
    // The sequences reached the interesting cases.
    EXPECT_GT(injected + retried, 20u);
    EXPECT_GT(injected, 5u);           // refusals that stood
    EXPECT_GT(retried, 5u);            // refusals the compaction path answered
    EXPECT_GT(refused, injected + 10); // the mirror's own engine refused too
    std::printf("injected %llu (and %llu retried), refused %llu; ok: destroy %llu share %llu donate %llu "
                "reclaim %llu hyp_donate %llu donate_list %llu\n", (unsigned long long)injected,
                (unsigned long long)retried, (unsigned long long)refused,
                (unsigned long long)ok[VBH_HC_DOMAIN_DESTROY], (unsigned long long)ok[VBH_HC_HOST_SHARE],
                (unsigned long long)ok[VBH_HC_HOST_DONATE], (unsigned long long)ok[VBH_HC_HOST_RECLAIM],
                (unsigned long long)ok[VBH_HC_HYP_DONATE], (unsigned long long)ok[VBH_HC_HOST_DONATE_LIST]);
    for (auto nr : {VBH_HC_DOMAIN_DESTROY, VBH_HC_HOST_SHARE, VBH_HC_HOST_DONATE, VBH_HC_HOST_RECLAIM,
                    VBH_HC_HYP_DONATE, VBH_HC_HOST_DONATE_LIST})
        EXPECT_GT(ok[nr], 10u) << "call " << nr;
}

} // namespace
} // namespace vbh::test
