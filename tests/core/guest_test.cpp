// The protected-guest calls (docs/hypercalls.md, "Protected guests"): every status of
// DOMAIN_BIND_ROOT, DOMAIN_UNBIND_ROOT, GUEST_DONATE and GUEST_RECLAIM, each refusal
// leaving the whole state (ownership, domains, host table, memory, bindings, gfn
// records) as it was; DOMAIN_DESTROY of a domain with roots and private frames; and a
// random sequence of every call against a model of who holds which frame at which gfn.
#include "harness.hpp"

#include <map>
#include <random>

namespace vbh::test {
namespace {

constexpr std::uint64_t bind = VBH_HC_DOMAIN_BIND_ROOT, unbind = VBH_HC_DOMAIN_UNBIND_ROOT,
                        gdonate = VBH_HC_GUEST_DONATE, greclaim = VBH_HC_GUEST_RECLAIM;
constexpr std::uint64_t root = 50 * frame_bytes; // a host frame holding KVM's root

TEST(GuestCalls, BindRootEveryStatus) {
    Harness h;
    const DomainId a = h.create(), b = h.create();
    EXPECT_REJECTED(h, Status::no_domain, bind, 0, root);
    EXPECT_REJECTED(h, Status::no_domain, bind, 9, root);
    EXPECT_REJECTED(h, Status::invalid, bind, a.value, root + 8);
    EXPECT_REJECTED(h, Status::range, bind, a.value, hole_pfn.phys());
    EXPECT_REJECTED(h, Status::range, bind, a.value, 5000 * frame_bytes);
    EXPECT_REJECTED(h, Status::state, bind, a.value, hyp_pfn.phys());
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 60, 1, b.value).status, Status::ok);
    EXPECT_REJECTED(h, Status::state, bind, a.value, 60 * frame_bytes);
    ASSERT_EQ(h.call(bind, a.value, root).status, Status::ok);
    EXPECT_EQ(h.core->root_domain(root), a);
    EXPECT_EQ(h.core->root_domain(root + frame_bytes), host_domain);
    EXPECT_REJECTED(h, Status::state, bind, a.value, root); // bound already
    EXPECT_REJECTED(h, Status::state, bind, b.value, root); // to any domain
    for (std::uint32_t i = 1; i < RootTable::capacity; ++i)
        ASSERT_EQ(h.call(bind, b.value, (512 + i) * frame_bytes).status, Status::ok) << i;
    EXPECT_REJECTED(h, Status::no_memory, bind, a.value, 70 * frame_bytes);
}

TEST(GuestCalls, UnbindRootEveryStatus) {
    Harness h;
    const DomainId a = h.create(), b = h.create();
    ASSERT_EQ(h.call(bind, a.value, root).status, Status::ok);
    EXPECT_REJECTED(h, Status::no_domain, unbind, 0, root);
    EXPECT_REJECTED(h, Status::no_domain, unbind, 7, root);
    EXPECT_REJECTED(h, Status::state, unbind, b.value, root);              // someone else's
    EXPECT_REJECTED(h, Status::state, unbind, a.value, root + frame_bytes); // not bound
    EXPECT_REJECTED(h, Status::state, unbind, a.value, root + 1);
    const std::uint64_t flushes = h.s2.flushes();
    ASSERT_EQ(h.call(unbind, a.value, root).status, Status::ok);
    EXPECT_GT(h.s2.flushes(), flushes) << "no CPU was made to drop its shadows";
    EXPECT_EQ(h.core->root_domain(root), host_domain);
    ASSERT_EQ(h.call(bind, b.value, root).status, Status::ok); // free for another domain
    EXPECT_EQ(h.core->root_domain(root), b);
}

TEST(GuestCalls, GuestDonateEveryStatus) {
    Harness h;
    const DomainId a = h.create(), b = h.create();
    const std::uint64_t p = low_pfn.value;
    EXPECT_REJECTED(h, Status::invalid, gdonate, p, 0, a.value, 0);
    EXPECT_REJECTED(h, Status::overflow, gdonate, ~0ull, 2, a.value, 0);
    EXPECT_REJECTED(h, Status::overflow, gdonate, p, 2, a.value, ~0ull);
    EXPECT_REJECTED(h, Status::overflow, gdonate, p, 2, a.value, GfnMap::key_limit - 1);
    EXPECT_REJECTED(h, Status::no_domain, gdonate, p, 1, 0, 0);
    EXPECT_REJECTED(h, Status::no_domain, gdonate, p, 1, 33, 0);
    EXPECT_REJECTED(h, Status::range, gdonate, hole_pfn.value, 1, a.value, 0);
    EXPECT_REJECTED(h, Status::range, gdonate, 250, 10, a.value, 0); // runs into the hole
    EXPECT_REJECTED(h, Status::state, gdonate, hyp_pfn.value, 1, a.value, 0);
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 45, 1, a.value).status, Status::ok);
    EXPECT_REJECTED(h, Status::state, gdonate, 44, 2, a.value, 0); // 45 is a's (not private)
    ASSERT_EQ(h.call(VBH_HC_HOST_SHARE, 46, 1, a.value).status, Status::ok);
    EXPECT_REJECTED(h, Status::state, gdonate, 46, 1, a.value, 0);

    auto out = h.call(gdonate, p, 3, a.value, 0x100);
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, 3u);
    for (std::uint64_t i = 0; i < 3; ++i) {
        EXPECT_EQ(h.at(Pfn{p + i}), (FrameMeta{Owner::guest, a}));
        EXPECT_FALSE(h.s2.mapped(Pfn{p + i})) << "private frame still in the host table";
        EXPECT_EQ(h.core->guests().gfns.gfn_of(Pfn{p + i}), 0x100 + i);
        EXPECT_EQ(h.core->guests().gfns.pfn_at(a, 0x100 + i), p + i);
    }
    EXPECT_EQ(h.core->domains()[a].guest, 3u);
    EXPECT_TRUE(h.consistent());
    EXPECT_REJECTED(h, Status::state, gdonate, p + 2, 1, b.value, 0x500); // a frame, once
    EXPECT_REJECTED(h, Status::state, gdonate, p + 7, 2, a.value, 0x101); // gfn taken in a
    ASSERT_EQ(h.call(gdonate, p + 7, 1, b.value, 0x101).status, Status::ok); // b's own space

    // Out of gfn-record nodes: each gfn far from the others needs its own nodes.
    Harness small;
    const DomainId c = small.create();
    Status s = Status::ok;
    std::uint64_t k = 0;
    for (; s == Status::ok && k < 64; ++k)
        s = small.call(gdonate, 60 + k, 1, c.value, k << 27).status;
    ASSERT_EQ(to_string(s), to_string(Status::no_memory)) << "after " << k;
    EXPECT_REJECTED(small, Status::no_memory, gdonate, 60 + k, 1, c.value, k << 27);
    // Out of host-table frames.
    small.s2.set_budget(0);
    EXPECT_REJECTED(small, Status::no_memory, gdonate, 200, 1, c.value, 5);
}

TEST(GuestCalls, GuestReclaimEveryStatus) {
    Harness h;
    const DomainId a = h.create(), b = h.create();
    ASSERT_EQ(h.call(gdonate, 40, 2, a.value, 7).status, Status::ok);
    ASSERT_EQ(h.call(gdonate, 42, 2, b.value, 7).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 44, 1, a.value).status, Status::ok);
    for (std::uint64_t p = 40; p < 44; ++p)
        h.mem.words(Pfn{p})[3] = 0x5ec7e7; // each domain's secret
    EXPECT_REJECTED(h, Status::invalid, greclaim, 40, 0);
    EXPECT_REJECTED(h, Status::overflow, greclaim, ~0ull, 2);
    EXPECT_REJECTED(h, Status::range, greclaim, hole_pfn.value, 1);
    EXPECT_REJECTED(h, Status::state, greclaim, 39, 2);  // 39 is the host's
    EXPECT_REJECTED(h, Status::state, greclaim, 43, 2);  // 44 was HOST_DONATEd
    EXPECT_REJECTED(h, Status::state, greclaim, hyp_pfn.value, 1);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_RECLAIM, 40, 1, a.value); // not that call's

    h.s2.events.clear();
    auto out = h.call(greclaim, 41, 2); // one frame of a, one of b
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, 2u);
    // Every CPU dropped its shadows before the scrub and the host's mapping: an L2
    // still on an old shadow cannot write after the scrub.
    EXPECT_EQ(h.s2.events.substr(0, 2), "fm") << h.s2.events;
    for (std::uint64_t p : {41, 42}) {
        EXPECT_EQ(h.at(Pfn{p}), FrameMeta{Owner::host});
        EXPECT_TRUE(h.s2.mapped(Pfn{p}));
        EXPECT_EQ(h.mem.words(Pfn{p})[3], 0u) << "not scrubbed";
        EXPECT_EQ(h.core->guests().gfns.gfn_of(Pfn{p}), GfnMap::no_gfn);
    }
    EXPECT_EQ(h.core->guests().gfns.pfn_at(a, 8), GfnMap::no_gfn);
    EXPECT_EQ(h.core->guests().gfns.pfn_at(b, 7), GfnMap::no_gfn);
    EXPECT_EQ(h.core->guests().gfns.pfn_at(a, 7), 40u);
    EXPECT_EQ(h.core->domains()[a].guest, 1u);
    EXPECT_EQ(h.core->domains()[b].guest, 1u);
    EXPECT_FALSE(h.core->private_at(Pfn{41}, 8, a));
    EXPECT_TRUE(h.core->private_at(Pfn{40}, 7, a));
    EXPECT_FALSE(h.core->private_at(Pfn{40}, 8, a)) << "a's frame at another gfn";
    EXPECT_FALSE(h.core->private_at(Pfn{40}, 7, b)) << "another domain's frame";
    EXPECT_TRUE(h.consistent());
}

TEST(GuestCalls, DestroyUnbindsRootsAndReturnsPrivateFrames) {
    Harness h;
    const DomainId a = h.create(), b = h.create();
    const std::uint32_t pool = h.core->guests().gfns.available();
    ASSERT_EQ(h.call(bind, a.value, root).status, Status::ok);
    ASSERT_EQ(h.call(bind, a.value, root + frame_bytes).status, Status::ok);
    ASSERT_EQ(h.call(bind, b.value, root + 2 * frame_bytes).status, Status::ok);
    ASSERT_EQ(h.call(gdonate, 600, 4, a.value, 0).status, Status::ok);
    ASSERT_EQ(h.call(gdonate, 620, 1, a.value, 1ull << 30).status, Status::ok);
    ASSERT_EQ(h.call(gdonate, 630, 1, b.value, 0).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 640, 1, a.value).status, Status::ok);
    for (std::uint64_t p : {600, 603, 620, 640})
        h.mem.words(Pfn{p})[0] = 0x5ec7e7;
    h.s2.events.clear();
    auto out = h.call(VBH_HC_DOMAIN_DESTROY, a.value);
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, 6u); // 4 + 1 private, 1 donated
    EXPECT_EQ(h.s2.events[0], 'f') << "shadows dropped before the first scrub: " << h.s2.events;
    EXPECT_EQ(h.core->root_domain(root), host_domain);
    EXPECT_EQ(h.core->root_domain(root + frame_bytes), host_domain);
    EXPECT_EQ(h.core->root_domain(root + 2 * frame_bytes), b);
    for (std::uint64_t p : {600, 603, 620, 640}) {
        EXPECT_EQ(h.at(Pfn{p}), FrameMeta{Owner::host}) << p;
        EXPECT_EQ(h.mem.words(Pfn{p})[0], 0u) << p;
        EXPECT_EQ(h.core->guests().gfns.gfn_of(Pfn{p}), GfnMap::no_gfn) << p;
    }
    EXPECT_EQ(h.at(Pfn{630}), (FrameMeta{Owner::guest, b}));
    EXPECT_TRUE(h.consistent());
    // Nothing of a left: reclaiming b's frame gives the whole pool back.
    ASSERT_EQ(h.call(greclaim, 630, 1).status, Status::ok);
    EXPECT_EQ(h.core->guests().gfns.available(), pool);
    // The id comes back clean: its old gfns are free.
    const DomainId again = h.create();
    EXPECT_EQ(again, a);
    EXPECT_EQ(h.call(gdonate, 700, 1, again.value, 0).status, Status::ok);
}

// Every call in random order against a model of private memory. After each call: a
// refusal changed nothing; every private frame is out of the host table and recorded
// at its gfn in both directions; no frame is in two domains or at two gfns.
TEST(GuestCalls, RandomSequenceKeepsTheModel) {
    Harness h;
    std::mt19937_64 rng(13);
    std::map<std::uint64_t, std::pair<std::uint16_t, std::uint64_t>> model; // pfn -> dom, gfn
    auto pick = [&](std::uint64_t n) { return rng() % n; };
    for (int step = 0; step < 600; ++step) {
        const std::uint64_t dom = pick(5), pfn = pick(3) ? 560 + pick(64) : pick(1024);
        const std::uint64_t count = 1 + pick(4), gfn = pick(4) ? pick(96) : pick(1ull << 36);
        HypercallRegs r{};
        switch (pick(9)) {
        case 0: r = {VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST, 0, 0, 0}; break;
        case 1: r = {VBH_HC_DOMAIN_DESTROY, dom, 0, 0, 0}; break;
        case 2: r = {bind, dom, (560 + pick(64)) * frame_bytes, 0, 0}; break;
        case 3: r = {unbind, dom, (560 + pick(64)) * frame_bytes, 0, 0}; break;
        case 4: r = {greclaim, pfn, count, 0, 0}; break;
        case 5: r = {VBH_HC_HOST_DONATE, pfn, count, dom, 0}; break;
        default: r = {gdonate, pfn, count, dom, gfn}; break;
        }
        const Snapshot before = h.snapshot();
        const HypercallOut out = h.call(r.rax, r.rdi, r.rsi, r.rdx, r.rcx);
        if (out.status != Status::ok) {
            ASSERT_TRUE(h.snapshot() == before) << "refused call " << r.rax << " changed state";
            continue;
        }
        if (r.rax == gdonate)
            for (std::uint64_t i = 0; i < count; ++i)
                model[pfn + i] = {std::uint16_t(dom), gfn + i};
        if (r.rax == greclaim)
            for (std::uint64_t i = 0; i < count; ++i)
                model.erase(pfn + i);
        if (r.rax == VBH_HC_DOMAIN_DESTROY)
            std::erase_if(model, [&](const auto& e) { return e.second.first == dom; });
        ASSERT_TRUE(h.consistent());
        std::uint64_t guests = 0;
        for (std::uint64_t p = 0; p < machine_frames; ++p) {
            const FrameMeta m = h.at(Pfn{p});
            const auto it = model.find(p);
            ASSERT_EQ(m.owner() == Owner::guest, it != model.end()) << p;
            if (it == model.end()) {
                ASSERT_EQ(h.core->guests().gfns.gfn_of(Pfn{p}), GfnMap::no_gfn) << p;
                continue;
            }
            ++guests;
            const DomainId d{it->second.first};
            ASSERT_EQ(m.domain(), d);
            ASSERT_FALSE(h.s2.mapped(Pfn{p}));
            ASSERT_EQ(h.core->guests().gfns.gfn_of(Pfn{p}), it->second.second);
            ASSERT_EQ(h.core->guests().gfns.pfn_at(d, it->second.second), p);
        }
        std::uint64_t counted = 0;
        for (std::uint16_t d = 1; d < VBH_MAX_DOMAINS; ++d)
            counted += h.core->domains()[DomainId{d}].guest;
        ASSERT_EQ(counted, guests);
    }
}

} // namespace
} // namespace vbh::test
