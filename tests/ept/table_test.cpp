// map / lookup / unmap / protect / merge for every format, including superpage splits,
// re-merges, pool exhaustion and argument checks.
#include "table_test.hpp"

namespace vbh::ept::test {
namespace {

TYPED_TEST_SUITE(TableTest, Formats);

// The leaves a greedy "largest page that fits and is aligned" mapping must produce.
template <Format F>
std::vector<std::uint64_t> greedy_sizes(std::uint64_t va, std::uint64_t pa, std::uint64_t size)
{
    std::vector<std::uint64_t> out;
    for (std::uint64_t off = 0; off < size;) {
        unsigned level = F::max_leaf;
        while (level > 0 && (((va + off) | (pa + off)) % page_size(level) || off + page_size(level) > size))
            --level;
        out.push_back(page_size(level));
        off += page_size(level);
    }
    return out;
}

TYPED_TEST(TableTest, MapChoosesLargestPages)
{
    using F = TypeParam;
    struct Case { std::uint64_t va, pa, size; };
    const Case cases[] = {
        {0, 0, 2 * gib1 + mib2 + kib4},              // aligned: 1 GiB, 1 GiB, 2 MiB, 4 KiB
        {gib1 - mib2, 3 * gib1 - mib2, gib1 + 2 * mib2}, // 2 MiB, 1 GiB, 2 MiB
        {4 * gib1, 8 * gib1 + kib4, 3 * mib2},       // pa only 4 KiB aligned: 4 KiB pages
        {6 * gib1, 9 * gib1 + mib2, gib1},           // pa 2 MiB aligned: 2 MiB pages
    };
    for (const Case& c : cases) {
        const Attrs a{Perm::rw};
        this->run(Op::map(c.va, c.pa, c.size, a));
        std::vector<std::uint64_t> got;
        std::uint64_t next = c.va;
        for (const Leaf& l : this->leaves(c.va, c.size)) {
            EXPECT_EQ(l.va, next);
            EXPECT_EQ(l.pa, c.pa + (l.va - c.va));
            EXPECT_EQ(l.attrs, F::canonical(a));
            next += l.size;
            got.push_back(l.size);
        }
        EXPECT_EQ(got, greedy_sizes<F>(c.va, c.pa, c.size)) << std::hex << c.va;
    }
    this->expect_frames_conserved();
}

TYPED_TEST(TableTest, LookupFindsPageOrNothing)
{
    using F = TypeParam;
    const Attrs uc{Perm::rx, MemType::uc};
    const Attrs a = F::encodable(uc) ? uc : Attrs{Perm::rx};
    this->run(Op::map(gib1, 5 * gib1, mib2 + kib4, a));
    const auto big = this->t.lookup(gib1 + 0x12345);
    ASSERT_TRUE(big);
    EXPECT_EQ(big->va, gib1);
    EXPECT_EQ(big->pa, 5 * gib1);
    EXPECT_EQ(big->size, F::max_leaf >= 1 ? mib2 : kib4);
    EXPECT_EQ(big->attrs, F::canonical(a));
    const auto small = this->t.lookup(gib1 + mib2 + 0xfff);
    ASSERT_TRUE(small);
    EXPECT_EQ(small->pa, 5 * gib1 + mib2);
    EXPECT_EQ(small->size, kib4);
    EXPECT_FALSE(this->t.lookup(gib1 + mib2 + kib4));
    EXPECT_FALSE(this->t.lookup(0));
    EXPECT_FALSE(this->t.lookup(va_limit<F>));
}

// translates(va), the exit path's walk, answers as lookup(va) does at every level a
// walk can end on: a superpage, a 4 KiB page, a hole in a split table, an empty
// top-level slot, past the address width.
TYPED_TEST(TableTest, TranslatesAgreesWithLookup)
{
    using F = TypeParam;
    const Attrs a{Perm::rwx};
    this->run(Op::map(gib1, 2 * gib1, gib1, a));
    this->run(Op::unmap(gib1 + mib2 + kib4, kib4));
    for (const std::uint64_t va : {std::uint64_t(0), gib1, gib1 + 0x123, gib1 + mib2,
                                   gib1 + mib2 + kib4, gib1 + mib2 + kib4 + 0xfff,
                                   gib1 + mib2 + 2 * kib4, 2 * gib1 - 1, 2 * gib1,
                                   va_limit<F> - kib4, va_limit<F>, ~std::uint64_t(0)})
        EXPECT_EQ(this->t.translates(va), this->t.lookup(va).has_value()) << std::hex << va;
    EXPECT_TRUE(this->t.translates(gib1 + mib2));
    EXPECT_FALSE(this->t.translates(gib1 + mib2 + kib4));
}

TYPED_TEST(TableTest, UnmapSplitsGigabyteToTwoMegToFourK)
{
    using F = TypeParam;
    const Attrs a{Perm::rwx};
    this->run(Op::map(gib1, 2 * gib1, gib1, a));
    EXPECT_EQ(this->leaves().size(), F::max_leaf >= 2 ? 1u : 512u);
    const Change c = this->run(Op::unmap(gib1 + mib2 + kib4, kib4));
    EXPECT_TRUE(c.flush);
    EXPECT_EQ(c.allocated, F::max_leaf >= 2 ? 2u : 1u);
    const auto ls = this->leaves();
    EXPECT_EQ(ls.size(), 511u + 511u);
    EXPECT_EQ(this->t.lookup(gib1)->size, mib2);
    EXPECT_EQ(this->t.lookup(gib1 + mib2)->size, kib4);
    EXPECT_EQ(this->t.lookup(gib1 + mib2)->pa, 2 * gib1 + mib2);
    EXPECT_FALSE(this->t.lookup(gib1 + mib2 + kib4));
    EXPECT_EQ(this->t.lookup(gib1 + mib2 + 2 * kib4)->pa, 2 * gib1 + mib2 + 2 * kib4);
    EXPECT_EQ(this->t.lookup(2 * gib1 - 1)->size, mib2);
    EXPECT_EQ(this->t.lookup(2 * gib1 - 1)->pa, 3 * gib1 - mib2);
    this->expect_frames_conserved();
}

TYPED_TEST(TableTest, ProtectSubRangeSplitsAndKeepsTheRest)
{
    using F = TypeParam;
    this->run(Op::map(0, 0, 2 * mib2, Attrs{Perm::rwx}));
    const Change c = this->run(Op::protect(kib4, 2 * kib4, Perm::r));
    EXPECT_TRUE(c.flush);
    EXPECT_EQ(this->t.lookup(0)->attrs.perm, F::canonical({Perm::rwx}).perm);
    EXPECT_EQ(this->t.lookup(kib4)->attrs.perm, Perm::r);
    EXPECT_EQ(this->t.lookup(2 * kib4)->attrs.perm, Perm::r);
    EXPECT_EQ(this->t.lookup(3 * kib4)->attrs.perm, F::canonical({Perm::rwx}).perm);
    EXPECT_EQ(this->t.lookup(mib2)->size, F::max_leaf >= 1 ? mib2 : kib4);
    // protect leaves holes alone
    this->run(Op::protect(0, 4 * mib2, Perm::rw));
    EXPECT_FALSE(this->t.lookup(2 * mib2));
    EXPECT_EQ(this->leaves().size(), F::max_leaf >= 1 ? 2u : 1024u); // re-merged
}

TYPED_TEST(TableTest, RemergesWhenRangeBecomesUniformAgain)
{
    using F = TypeParam;
    const Attrs a{Perm::rw};
    const std::size_t before = this->mem.pool_available();
    this->run(Op::map(gib1, gib1, gib1, a));
    const auto shape = this->leaves();
    this->run(Op::unmap(gib1 + 7 * mib2 + 9 * kib4, kib4));
    const Change back = this->run(Op::map(gib1 + 7 * mib2 + 9 * kib4, gib1 + 7 * mib2 + 9 * kib4, kib4, a));
    EXPECT_EQ(back.retired, F::max_leaf >= 2 ? 2u : 1u); // PT, then PD collapse
    EXPECT_EQ(this->leaves(), shape);
    this->run(Op::protect(gib1 + 3 * kib4, kib4, Perm::r));
    const Change again = this->run(Op::protect(gib1 + 3 * kib4, kib4, Perm::rw));
    EXPECT_GE(again.retired, 1u);
    EXPECT_EQ(this->leaves(), shape);
    this->mem.release_retired();
    EXPECT_EQ(this->mem.pool_available(), before - (F::levels - 1 - F::max_leaf));
    this->expect_frames_conserved();
}

// Remerge::later: the tables a map leaves uniform stay (same translations, nothing
// retired); the next change of the same page needs no split; merge() then collapses
// exactly what Remerge::now would have.
TYPED_TEST(TableTest, DeferredRemergeKeepsTablesUntilMerge)
{
    using F = TypeParam;
    const Attrs a{Perm::rw};
    const std::uint64_t page = gib1 + 7 * mib2 + 9 * kib4;
    this->run(Op::map(gib1, gib1, gib1, a));
    const auto shape = this->leaves();
    this->run(Op::unmap(page, kib4));
    const auto split = this->leaves();
    const Change back = this->ok(this->t.map(page, page, kib4, a, Remerge::later));
    EXPECT_EQ(back.retired, 0u);
    EXPECT_EQ(back.allocated, 0u);
    EXPECT_EQ(back.flush, F::flush_on_map); // nothing present removed, nothing retired
    Segs merged, kept;
    for (const Leaf& l : shape) push_coalesced(merged, Seg{l.va, l.va + l.size, l.pa, l.attrs});
    for (const Leaf& l : this->leaves()) push_coalesced(kept, Seg{l.va, l.va + l.size, l.pa, l.attrs});
    EXPECT_EQ(kept, merged);                                   // translates the same
    EXPECT_EQ(this->leaves().size(), split.size() + 1);        // still split
    EXPECT_EQ(this->t.tables_needed(Op::unmap(page, kib4)).value_or(99), 0u);
    const Change again = this->run(Op::unmap(page, kib4));     // one entry, no split
    EXPECT_EQ(again.allocated, 0u);
    EXPECT_EQ(this->leaves(), split);
    (void)this->ok(this->t.map(page, page, kib4, a, Remerge::later));
    const Change m = this->t.merge(page, kib4);
    EXPECT_EQ(m.retired, F::max_leaf >= 2 ? 2u : 1u);
    EXPECT_TRUE(m.flush);
    EXPECT_EQ(this->leaves(), shape);
    this->expect_frames_conserved();
}

TYPED_TEST(TableTest, UnmapEverythingFreesAllTablesButRoot)
{
    this->run(Op::map(3 * gib1 - 2 * mib2, kib4, 5 * mib2, Attrs{Perm::rw})); // 4 KiB pages
    EXPECT_EQ(this->leaves().size(), 5u * 512u);
    const Change c = this->run(Op::unmap(0, 8 * gib1));
    EXPECT_TRUE(c.flush);
    EXPECT_TRUE(this->leaves().empty());
    this->expect_frames_conserved();
    this->mem.release_retired();
    EXPECT_EQ(this->mem.pool_available(), this->mem.capacity - 1);
}

TYPED_TEST(TableTest, ExplicitMergeCollapsesTablesBuiltElsewhere)
{
    using F = TypeParam;
    if constexpr (F::max_leaf >= 1) {
        const Attrs a{Perm::r};
        this->run(Op::map(4 * mib2, 6 * mib2, kib4, a));
        // Fill the rest of that page table directly, as a loader might have.
        Slot* pt = this->slot_of(4 * mib2, 0);
        ASSERT_NE(pt, nullptr);
        for (unsigned i = 1; i < entries_per_table; ++i) pt[i].store(F::leaf(6 * mib2 + i * kib4, a, 0));
        EXPECT_EQ(this->leaves().size(), 512u);
        const Change c = this->t.merge(0, gib1);
        EXPECT_EQ(c.retired, 1u);
        EXPECT_TRUE(c.flush);
        const auto ls = this->leaves();
        ASSERT_EQ(ls.size(), 1u);
        EXPECT_EQ(ls[0], (Leaf{4 * mib2, 6 * mib2, mib2, F::canonical(a), 1}));
        // A table whose pages are contiguous but not 2 MiB aligned in pa stays.
        this->run(Op::map(8 * mib2, 10 * mib2 + kib4, mib2, a));
        EXPECT_EQ(this->t.merge(0, gib1).retired, 0u);
    }
    this->expect_frames_conserved();
}

TYPED_TEST(TableTest, PoolExhaustionChangesNothing)
{
    using F = TypeParam;
    this->run(Op::map(0, 0, gib1, Attrs{Perm::rw}));
    const Op ops[] = {
        Op::map(5 * gib1 + kib4, kib4, 3 * mib2, Attrs{Perm::rw}),
        Op::unmap(mib2 + kib4, kib4),
        Op::protect(kib4 * 7, kib4, Perm::r),
    };
    for (const Op& op : ops) {
        const std::size_t need = this->t.tables_needed(op).value();
        ASSERT_GT(need, 0u);
        const Segs before = hw_walk<F>(this->mem, this->t.root());
        const std::size_t writes = this->mem.writes(), avail = this->mem.pool_available();
        this->mem.limit(need - 1);
        const auto r = this->t.apply(op);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error(), Status::no_memory);
        EXPECT_EQ(this->mem.writes(), writes);
        EXPECT_EQ(this->mem.pool_available(), avail);
        EXPECT_EQ(hw_walk<F>(this->mem, this->t.root()), before);
        this->mem.limit(need);
        EXPECT_TRUE(this->t.apply(op).has_value());
        this->mem.unlimit();
    }
    this->expect_frames_conserved();
}

TYPED_TEST(TableTest, RejectsBadArguments)
{
    using F = TypeParam;
    auto& t = this->t;
    const Attrs a{Perm::rw};
    EXPECT_EQ(t.map(0x800, 0, kib4, a).error(), Status::invalid);
    EXPECT_EQ(t.map(0, 0x800, kib4, a).error(), Status::invalid);
    EXPECT_EQ(t.map(0, 0, 0x1800, a).error(), Status::invalid);
    EXPECT_EQ(t.map(0, 0, 0, a).error(), Status::invalid);
    EXPECT_EQ(t.map(0, 0, kib4, Attrs{Perm::none}).error(), Status::invalid);
    EXPECT_EQ(t.map(0, 0, kib4, Attrs{Perm::rw, MemType::uc_minus}).error(),
        F::encodable(Attrs{Perm::rw, MemType::uc_minus}) ? Status::ok : Status::invalid);
    EXPECT_EQ(t.map(va_limit<F> - kib4, 0, 2 * kib4, a).error(), Status::range);
    EXPECT_EQ(t.map(va_limit<F>, 0, kib4, a).error(), Status::range);
    EXPECT_EQ(t.map(0, F::pa_mask & ~(kib4 - 1), 2 * kib4, a).error(), Status::range);
    EXPECT_EQ(t.unmap(~0ull & ~(kib4 - 1), 2 * kib4).error(), Status::range);
    EXPECT_EQ(t.protect(0, kib4, Perm::none).error(), Status::invalid);
    EXPECT_EQ(t.tables_needed(Op::unmap(0, 3)).error(), Status::invalid);
}

TYPED_TEST(TableTest, ReportsWhenAFlushIsNeeded)
{
    using F = TypeParam;
    EXPECT_EQ(this->run(Op::map(0, 0, mib2, Attrs{Perm::rw})).flush, F::flush_on_map);
    EXPECT_EQ(this->run(Op::map(0, 0, mib2, Attrs{Perm::rw})).flush, false); // no change
    EXPECT_EQ(this->run(Op::unmap(gib1, gib1)).flush, false);                 // was a hole
    EXPECT_EQ(this->run(Op::protect(0, mib2, Perm::r)).flush, true);
    EXPECT_EQ(this->run(Op::map(0, gib1, mib2, Attrs{Perm::r})).flush, true);
    EXPECT_EQ(this->run(Op::unmap(0, mib2)).flush, true);
}

TYPED_TEST(TableTest, KeepsHardwareAccessedDirtyBitsOnProtect)
{
    using F = TypeParam;
    this->run(Op::map(0, 0, 4 * kib4, Attrs{Perm::rw}));
    Slot* pt = this->slot_of(0, 0);
    ASSERT_NE(pt, nullptr);
    pt[1].fetch_or(F::hw_bits); // as the walker would after a write
    this->run(Op::protect(0, 4 * kib4, Perm::r));
    EXPECT_EQ(pt[1].load() & F::hw_bits, F::hw_bits);
    EXPECT_EQ(pt[2].load() & F::hw_bits, 0u);
    EXPECT_EQ(this->t.lookup(kib4)->attrs.perm, Perm::r);
}

TYPED_TEST(TableTest, DestroyRetiresEveryFrame)
{
    this->run(Op::map(gib1 - kib4, 0, 2 * mib2, Attrs{Perm::rw}));
    std::set<std::uint64_t> frames;
    (void)hw_walk<TypeParam>(this->mem, this->t.root(), &frames);
    const Change c = this->t.destroy();
    EXPECT_EQ(c.retired, frames.size());
    EXPECT_EQ(this->mem.retired(), frames);
    EXPECT_EQ(this->mem.release_retired(), frames.size());
    EXPECT_EQ(this->mem.pool_available(), this->mem.capacity);
}

TYPED_TEST(TableTest, TablesBoundIsAWorstCase)
{
    using T = typename TestFixture::T;
    // 4 KiB pages over two 1 GiB slots: 2 PDPT positions? One PML4 slot -> 1 PDPT, 2 PDs,
    // and one PT per 2 MiB.
    const std::uint64_t va = gib1 - mib2, size = 2 * mib2;
    EXPECT_EQ(T::tables_bound(va, size), (TypeParam::levels == 4 ? 1u : 0u) + 2u + 2u);
    EXPECT_EQ(this->t.tables_needed(Op::map(va, kib4, size, Attrs{Perm::rw})).value(),
        T::tables_bound(va, size));
}

} // namespace
} // namespace vbh::ept::test
