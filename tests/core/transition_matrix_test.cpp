// Every ownership operation from every frame state: the exact status, the state after
// on success, and no change at all (ownership, domains, host table, memory) on failure.
#include "harness.hpp"

#include <string>

namespace vbh::test {
namespace {

enum class From { hole, host, hyp, dom_a, dom_b, shared_a, shared_b, guest_a, guest_b, count };
enum class Do {
    share, unshare, donate, reclaim, hyp_donate, donate_list, fill, hash, destroy,
    guest_donate, guest_reclaim, count
};

const char* name(From f) {
    const char* n[] = {"hole", "host", "hyp", "dom_a", "dom_b", "shared_a", "shared_b",
                       "guest_a", "guest_b"};
    return n[int(f)];
}
const char* name(Do d) {
    const char* n[] = {"share", "unshare", "donate", "reclaim", "hyp_donate", "donate_list",
                       "fill", "hash", "destroy", "guest_donate", "guest_reclaim"};
    return n[int(d)];
}

// Expected outcome: a status and, on success, the target frame's owner afterwards
// (relative to domain A; Owner::none = unchanged).
struct Want {
    Status status;
    Owner owner = Owner::none;
};

constexpr Status R = Status::range, S = Status::state;
constexpr Want ok_host{Status::ok, Owner::host}, same{Status::ok, Owner::none};

// Rows: From; columns: Do (share unshare donate reclaim hyp_donate donate_list fill hash
// destroy guest_donate guest_reclaim).
const Want matrix[int(From::count)][int(Do::count)] = {
    /* hole     */ {{R}, {R}, {R}, {R}, {R}, {R}, {R}, {R}, same, {R}, {R}},
    /* host     */ {{Status::ok, Owner::shared}, {S}, {Status::ok, Owner::domain}, {S},
                    {Status::ok, Owner::hyp}, {Status::ok, Owner::domain}, {S}, {S}, same,
                    {Status::ok, Owner::guest}, {S}},
    /* hyp      */ {{S}, {S}, {S}, {S}, {S}, {S}, {S}, {S}, same, {S}, {S}},
    /* dom_a    */ {{S}, {S}, {S}, ok_host, {S}, {S}, same, same, ok_host, {S}, {S}},
    /* dom_b    */ {{S}, {S}, {S}, {S}, {S}, {S}, {S}, {S}, same, {S}, {S}},
    /* shared_a */ {{S}, ok_host, {S}, {S}, {S}, {S}, {S}, {S}, ok_host, {S}, {S}},
    /* shared_b */ {{S}, {S}, {S}, {S}, {S}, {S}, {S}, {S}, same, {S}, {S}},
    /* guest_a  */ {{S}, {S}, {S}, {S}, {S}, {S}, {S}, {S}, ok_host, {S}, ok_host},
    /* guest_b  */ {{S}, {S}, {S}, {S}, {S}, {S}, {S}, {S}, same, {S}, ok_host},
};

struct Cell {
    Harness h;
    DomainId a, b;
    Pfn target;
};

// Bring low_pfn (or a hole / hypervisor frame) into state f, with domains A and B live
// and a secret in the frame when a domain owns it.
void enter(Cell& s, From f) {
    s.a = s.h.create();
    s.b = s.h.create();
    s.target = f == From::hole ? hole_pfn : f == From::hyp ? hyp_pfn : low_pfn;
    DomainId who = (f == From::dom_b || f == From::shared_b || f == From::guest_b) ? s.b : s.a;
    if (f == From::dom_a || f == From::dom_b) {
        ASSERT_EQ(s.h.call(VBH_HC_HOST_DONATE, s.target.value, 1, who.value).status, Status::ok);
        ASSERT_EQ(s.h.call(VBH_HC_TEST_FILL, who.value, s.target.value, 1, 7).status, Status::ok);
    }
    if (f == From::guest_a || f == From::guest_b) {
        ASSERT_EQ(s.h.call(VBH_HC_GUEST_DONATE, s.target.value, 1, who.value, 0x40).status, Status::ok);
        s.h.mem.words(s.target)[5] = 0x5ec7e7; // the guest's secret
    }
    if (f == From::shared_a || f == From::shared_b) {
        ASSERT_EQ(s.h.call(VBH_HC_HOST_SHARE, s.target.value, 1, who.value).status, Status::ok);
    }
}

HypercallOut act(Cell& s, Do d) {
    std::uint64_t p = s.target.value, a = s.a.value;
    // The donate_list array lives in a host frame far from the target.
    Pfn list{100};
    s.h.mem.words(list)[0] = p;
    s.h.mem.words(list)[1] = 1;
    switch (d) {
    case Do::share: return s.h.call(VBH_HC_HOST_SHARE, p, 1, a);
    case Do::unshare: return s.h.call(VBH_HC_HOST_UNSHARE, p, 1, a);
    case Do::donate: return s.h.call(VBH_HC_HOST_DONATE, p, 1, a);
    case Do::reclaim: return s.h.call(VBH_HC_HOST_RECLAIM, p, 1, a);
    case Do::hyp_donate: return s.h.call(VBH_HC_HYP_DONATE, p, 1);
    case Do::donate_list: return s.h.call(VBH_HC_HOST_DONATE_LIST, list.phys(), 1, a);
    case Do::fill: return s.h.call(VBH_HC_TEST_FILL, a, p, 1, 9);
    case Do::hash: return s.h.call(VBH_HC_TEST_HASH, a, p, 1);
    case Do::destroy: return s.h.call(VBH_HC_DOMAIN_DESTROY, a);
    case Do::guest_donate: return s.h.call(VBH_HC_GUEST_DONATE, p, 1, a, 0x77);
    case Do::guest_reclaim: return s.h.call(VBH_HC_GUEST_RECLAIM, p, 1);
    case Do::count: break;
    }
    return {Status::invalid};
}

void check_success(Cell& s, const Snapshot& before, Want w) {
    FrameMeta now = s.h.at(s.target);
    if (w.owner == Owner::none) {
        EXPECT_EQ(now.raw(), before.meta[s.target.value]);
    } else {
        EXPECT_EQ(now.owner(), w.owner);
        if (w.owner == Owner::domain || w.owner == Owner::shared || w.owner == Owner::guest) {
            EXPECT_EQ(now.domain(), s.a);
        }
    }
    EXPECT_TRUE(s.h.consistent());
    const Owner was = FrameMeta::from_raw(before.meta[s.target.value]).owner();
    bool from_private = was == Owner::domain || was == Owner::guest;
    if (from_private && now.owner() == Owner::host) {
        for (std::uint64_t k = 0; k < words_per_frame; ++k)
            ASSERT_EQ(s.h.mem.words(s.target)[k], 0u) << "reclaimed frame not scrubbed";
    }
}

TEST(TransitionMatrix, EveryOperationFromEveryState) {
    int cells = 0;
    for (int f = 0; f < int(From::count); ++f) {
        for (int d = 0; d < int(Do::count); ++d) {
            SCOPED_TRACE(std::string(name(From(f))) + " x " + name(Do(d)));
            Cell s;
            enter(s, From(f));
            Pfn list{100};
            s.h.mem.words(list)[0] = s.target.value; // act() writes these; keep the
            s.h.mem.words(list)[1] = 1;              // before-snapshot equal
            Snapshot before = s.h.snapshot();
            Want w = matrix[f][d];
            HypercallOut out = act(s, Do(d));
            ASSERT_EQ(to_string(out.status), to_string(w.status));
            if (w.status == Status::ok) {
                check_success(s, before, w);
            } else {
                EXPECT_TRUE(s.h.snapshot() == before) << "failed call changed state";
            }
            ++cells;
        }
    }
    EXPECT_EQ(cells, int(From::count) * int(Do::count));
}

// The pure state machine agrees with the table for every (transition, state) pair.
TEST(TransitionMatrix, PureTableAcceptsOnlyDocumentedStates) {
    DomainId a{1}, b{2};
    const FrameMeta states[] = {{}, {Owner::host}, {Owner::hyp}, {Owner::domain, a},
                                {Owner::domain, b}, {Owner::shared, a}, {Owner::shared, b}};
    const Transition ts[] = {Transition::share, Transition::unshare, Transition::donate,
                             Transition::reclaim, Transition::hyp_donate, Transition::test_access};
    const int accepted[][7] = {
        {0, 1, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 1, 0}, {0, 1, 0, 0, 0, 0, 0},
        {0, 0, 0, 1, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0}, {0, 0, 0, 1, 0, 0, 0},
    };
    for (int t = 0; t < 6; ++t)
        for (int st = 0; st < 7; ++st)
            EXPECT_EQ(accepts(ts[t], states[st], a), accepted[t][st] == 1) << t << "," << st;
}

} // namespace
} // namespace vbh::test
