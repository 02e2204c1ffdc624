// Random KVM tables (4 KiB, 2 MiB and 1 GiB leaves, random rights, reserved bits, absent
// entries) against a model that walks the generator's own record of each entry, not
// its bits: every fault's outcome, error code and shadow entry must agree, and no frame
// vbh refuses ever appears in the shadow, however small the pool. Some 4 KiB leaves name
// private frames of domain 1 or 2 (donated for that leaf's gfn, or for another), and
// the shadow serves domain 0 (an unbound root), 1 or 2 by round: a private frame enters
// only its own domain's shadow at its own gfn.
#include "shadow_fixture.hpp"

#include <gtest/gtest.h>

#include <random>

namespace vbh::svm::test {
namespace {

// What the generator meant an entry to be.
struct Meant {
    bool present, rsvd, leaf, rw, us, nx, d;
    std::uint64_t target; // table pa, or the leaf's first frame
};

// vbh's rights on a frame: a fixed pseudo-random function of the pfn, a quarter each
// none (donated, hypervisor, MMIO), read-only, read+exec, all.
std::uint8_t perm_of(std::uint64_t pfn) {
    const std::uint8_t p[] = {0, perm::r, perm::r | perm::x, perm::rwx};
    return p[(pfn * 0x9e3779b97f4a7c15ull) >> 62];
}

struct Model {
    FakeHost& host;
    std::mt19937_64& rng;
    std::map<std::uint64_t, Meant> meant; // entry pa -> meaning

    bool chance(int percent) { return int(rng() % 100) < percent; }

    // What vbh lets a shadow of dom do with pfn at gfn (HostTables::frame_perm).
    std::uint8_t own(std::uint64_t pfn, std::uint64_t gfn, std::uint16_t dom) const {
        const auto p = host.private_frames.find(pfn);
        if (p == host.private_frames.end())
            return perm_of(pfn);
        return dom != 0 && p->second == std::pair{dom, gfn} ? perm::rwx : 0;
    }

    // base: the first L2 address the table maps.
    std::uint64_t build(int level, std::uint64_t base = 0) {
        const std::uint64_t t = host.new_table();
        for (std::uint64_t i = 0; i < 4; ++i) {
            Meant m{};
            m.present = !chance(12);
            m.rsvd = m.present && chance(6);
            m.leaf = level == 1 || ((level == 2 || level == 3) && chance(35));
            m.rw = chance(80), m.us = chance(92), m.nx = chance(20), m.d = chance(60);
            std::uint64_t e = (m.present ? npte::p : 0) | (m.rw ? npte::rw : 0) |
                              (m.us ? npte::us : 0) | (m.nx ? npte::nx : 0);
            if (m.leaf) {
                const std::uint64_t size = 1ull << (12 + 9 * (level - 1));
                m.target = (rng() % (1ull << 40)) & ~(size - 1);
                e |= m.target | (m.d ? npte::d : 0) | (level > 1 ? npte::ps : 0);
                const std::uint64_t gfn = (base >> 12) + i;
                if (level == 1 && chance(40))
                    host.private_frames[m.target >> 12] = {std::uint16_t(1 + rng() % 2),
                                                           chance(70) ? gfn : gfn ^ 1};
            } else if (m.present) {
                m.target = build(level - 1, base + i * (1ull << (12 + 9 * (level - 1))));
                e |= m.target;
            }
            if (m.rsvd) // a reserved bit: PML4E PS, a large leaf's bit 13, else above MAXPHYADDR
                e |= level == 4 ? npte::ps : m.leaf && level > 1 ? 1ull << 13 : 1ull << 50;
            host.mem[t + i * 8] = e;
            meant[t + i * 8] = m;
        }
        return t;
    }

    // The model's answer for one access.
    ShadowFaultResult expect(std::uint64_t root, std::uint64_t gpa, bool write, bool fetch,
                             std::uint16_t dom, std::uint64_t& frame, std::uint8_t& rights) {
        const std::uint64_t u = npf_code::user, w = write ? npf_code::write : 0,
                            f = fetch ? npf_code::fetch : 0;
        std::uint64_t t = root;
        bool rw = true, us = true, x = true;
        for (int level = 4;; --level) {
            Meant& m = meant.at(t + ((gpa >> (12 + 9 * (level - 1))) & 511) * 8);
            if (!m.present)
                return {ShadowFault::reflect, u | w | f, 0};
            if (m.rsvd)
                return {ShadowFault::reflect, npf_code::present | npf_code::rsvd | u | w | f, 0};
            rw &= m.rw, us &= m.us, x &= !m.nx;
            if (m.leaf) {
                if (!us || (write && !rw) || (fetch && !x))
                    return {ShadowFault::reflect, npf_code::present | u | w | f, 0};
                m.d |= write;
                const std::uint64_t size = 1ull << (12 + 9 * (level - 1));
                frame = m.target + (gpa & (size - 1) & ~0xfffull);
                const std::uint8_t vbh = own(frame >> 12, gpa >> 12, dom);
                rights = std::uint8_t((perm::r | (rw && m.d ? perm::w : 0) | (x ? perm::x : 0)) & vbh);
                if (!(vbh & perm::r) || (write && !(rights & perm::w)) || (fetch && !(rights & perm::x)))
                    return {ShadowFault::refused, 0, frame};
                return {ShadowFault::mapped, 0, 0};
            }
            t = m.target;
        }
    }
};

TEST(ShadowModel, RandomTablesAgreeWithTheModel) {
    std::mt19937_64 rng(12);
    int seen[4] = {}, private_mapped = 0;
    for (int round = 0; round < 40; ++round) {
        FakeHost host;
        host.perm_of = perm_of;
        Model model{host, rng, {}};
        const std::uint64_t root = model.build(4);
        Pool pool{round % 2 ? 5u : 64u};
        const std::uint16_t dom = std::uint16_t(round % 3);
        pool.s.reset({root, 1, dom});
        for (int i = 0; i < 400; ++i) {
            const std::uint64_t gpa = (rng() % 4) << 39 | (rng() % 4) << 30 | (rng() % 4) << 21 |
                                      (rng() % 4) << 12 | (rng() % 4096);
            const bool write = rng() % 3 == 0, fetch = !write && rng() % 4 == 0;
            const std::uint64_t hw = npf_code::user | (write ? npf_code::write : 0) |
                                     (fetch ? npf_code::fetch : 0) | npf_code::final_gpa;
            std::uint64_t frame = 0;
            std::uint8_t rights = 0;
            const ShadowFaultResult want = model.expect(root, gpa, write, fetch, dom, frame, rights);
            const std::uint64_t before = pool.s.lookup(gpa);
            const ShadowFaultResult got = shadow_npf(host, pool.s, root, hw, gpa, walk_caps);
            ASSERT_EQ(int(got.how), int(want.how)) << std::hex << gpa << " round " << round;
            ++seen[int(got.how)];
            const std::uint64_t e = pool.s.lookup(gpa);
            switch (want.how) {
            case ShadowFault::reflect:
                EXPECT_EQ(got.exit_info1, want.exit_info1 | npf_code::final_gpa);
                EXPECT_EQ(e, before) << "a reflected fault changes no shadow entry";
                break;
            case ShadowFault::refused:
                EXPECT_EQ(got.addr, want.addr);
                EXPECT_EQ(e, before);
                break;
            case ShadowFault::mapped:
                private_mapped += host.private_frames.count(frame >> 12) != 0;
                EXPECT_EQ(e & 0x000ffffffffff000ull, frame);
                EXPECT_EQ(bool(e & npte::rw), bool(rights & perm::w));
                EXPECT_EQ(!(e & npte::nx), bool(rights & perm::x));
                break;
            case ShadowFault::retry: FAIL();
            }
            // No frame vbh refuses is ever reachable, nor more than vbh allows: no
            // private frame outside its domain's shadow or at another gfn.
            if (e & npte::p) {
                const std::uint8_t own = model.own((e & 0x000ffffffffff000ull) >> 12, gpa >> 12, dom);
                EXPECT_TRUE(own & perm::r);
                EXPECT_FALSE((e & npte::rw) && !(own & perm::w));
                EXPECT_FALSE(!(e & npte::nx) && !(own & perm::x));
            }
            ASSERT_LE(pool.s.used(), round % 2 ? 5u : 64u);
        }
    }
    // Every outcome but a lost race was met, many times.
    EXPECT_GT(seen[int(ShadowFault::mapped)], 1000);
    EXPECT_GT(seen[int(ShadowFault::reflect)], 1000);
    EXPECT_GT(seen[int(ShadowFault::refused)], 1000);
    EXPECT_GT(private_mapped, 20) << "private frames admitted at their gfn";
}

} // namespace
} // namespace vbh::svm::test
