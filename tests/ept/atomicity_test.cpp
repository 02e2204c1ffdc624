// No intermediate state of an update loses or changes an unrelated mapping.
//
// RecordingMemory calls back after every single entry write. The checker then walks the
// table as hardware would and requires: every address outside the op's range translates
// exactly as before the op; every address inside translates as before or as after (the
// reference model); no hardware-illegal entry is reachable; no retired frame is
// reachable. Writes into frames not reachable from the root cannot change a walk, so
// they are counted but not re-walked. After each op the table must equal the model, the
// op must have allocated exactly tables_needed() frames, and no frame may leak.
#include "table_test.hpp"

#include <random>

namespace vbh::ept::test {
namespace {

template <class F>
class Atomicity : public TableTest<F> {
protected:
    // Runs op (or merge when merge_only) with the per-write checker armed.
    void checked(const Op& op, bool merge_only)
    {
        Model after = model_;
        if (!merge_only) after.template apply<F>(op);
        const Segs before = hw_walk<F>(this->mem, this->t.root(), &reachable_);
        ASSERT_EQ(before, model_.segs);
        std::size_t checks = 0;
        this->mem.on_write = [&](Slot* e) {
            if (hw_noise_) touch(this->t.root(), F::levels - 1);
            if (!reachable_.count(this->mem.frame_of(e))) return;
            ++checks;
            std::set<std::uint64_t> frames;
            const Segs now = hw_walk<F>(this->mem, this->t.root(), &frames);
            ASSERT_TRUE(only_range_changed(before, after.segs, now, op.va, op.end()));
            for (std::uint64_t f : frames) ASSERT_FALSE(this->mem.retired().count(f));
            reachable_ = frames;
        };
        if (merge_only) (void)this->t.merge(op.va, op.size);
        else (void)this->run(op);
        this->mem.on_write = nullptr;
        total_checks_ += checks;
        model_ = after;
        ASSERT_EQ(hw_walk<F>(this->mem, this->t.root()), model_.segs);
        this->expect_frames_conserved();
    }

    // What concurrent walkers do: flip the accessed bit of upper-level entries (each with
    // probability 1/2, so an even number of writes does not cancel out) and of one entry
    // per page table, so the engine's compare-and-swaps meet entries that changed since
    // it read them.
    void touch(std::uint64_t table, unsigned level)
    {
        constexpr std::uint64_t accessed = F::hw_bits & -F::hw_bits;
        Slot* t = this->mem.entries(table);
        if (level == 0) {
            Slot& s = t[noise_() % entries_per_table];
            if (F::present(s.load())) s.fetch_xor(accessed);
            return;
        }
        for (unsigned i = 0; i < entries_per_table; ++i) {
            const bool flip = F::present(t[i].load()) && (noise_() & 1);
            const std::uint64_t e = t[i].fetch_xor(flip ? accessed : 0);
            if (detail::is_table<F>(e, level)) touch(F::address(e, level), level - 1);
        }
    }

    Op random_op(std::mt19937_64& rng)
    {
        const std::uint64_t grains[] = {kib4, mib2, gib1};
        const std::uint64_t g = grains[rng() % 3];
        const std::uint64_t span = 4 * gib1; // window of the test
        const std::uint64_t va = (rng() % (span / g)) * g + (rng() % 4 == 0 ? kib4 * (rng() % 600) : 0);
        std::uint64_t size = g == gib1 ? gib1 * (1 + rng() % 2) : g * (1 + rng() % (g == kib4 ? 300 : 6));
        size = std::min(size, span + gib1 - va);
        const std::uint64_t pagesz = size > 8 * mib2 ? mib2 : kib4; // keep 4 KiB maps small
        const std::uint64_t pa = (rng() % 64) * gib1 + (rng() % 2 ? va % gib1 : (rng() % 512) * pagesz + va % pagesz);
        const Perm perms[] = {Perm::r, Perm::rw, Perm::rx, Perm::rwx};
        const Perm p = perms[rng() % 4];
        switch (rng() % 4) {
        case 0:
        case 1: return Op::map(va, pa, size, Attrs{p});
        case 2: return Op::unmap(va, size);
        default: return Op::protect(va, size, p);
        }
    }

    bool hw_noise_ = false;
    std::mt19937_64 noise_{7};
    Model model_;
    std::set<std::uint64_t> reachable_;
    std::size_t total_checks_ = 0;
};

TYPED_TEST_SUITE(Atomicity, Formats);

TYPED_TEST(Atomicity, SplitsKeepEveryOtherTranslation)
{
    this->checked(Op::map(0, 0, 2 * gib1, Attrs{Perm::rwx}), false);
    this->checked(Op::unmap(gib1 + mib2 + kib4, kib4), false);         // 1 GiB -> 2 MiB -> 4 KiB
    this->checked(Op::protect(3 * mib2 + kib4, 5 * kib4, Perm::r), false);
    this->checked(Op::map(gib1 - kib4, 7 * gib1, 2 * kib4, Attrs{Perm::r}), false); // straddles
    EXPECT_GT(this->total_checks_, 0u);
}

TYPED_TEST(Atomicity, MergesKeepEveryOtherTranslation)
{
    this->checked(Op::map(0, 0, 2 * gib1, Attrs{Perm::rw}), false);
    this->checked(Op::protect(gib1 + 5 * kib4, kib4, Perm::r), false);
    this->checked(Op::protect(gib1 + 5 * kib4, kib4, Perm::rw), false); // auto re-merge
    this->checked(Op::unmap(mib2, 2 * kib4), false);
    this->checked(Op::map(mib2, mib2, 2 * kib4, Attrs{Perm::rw}), false);
    this->checked(Op::unmap(0, gib1), false);                            // collapses to a hole
    this->checked(Op::unmap(0, 8 * gib1), true);                         // explicit merge
    EXPECT_TRUE(this->leaves(0, gib1).empty());
}

TYPED_TEST(Atomicity, RandomOperations)
{
    std::mt19937_64 rng(0x5eed + sizeof(TypeParam) + TypeParam::levels * 7 + TypeParam::max_leaf);
    for (int i = 0; i < 60 && !this->HasFatalFailure(); ++i) {
        const Op op = this->random_op(rng);
        this->checked(op, rng() % 8 == 0);
        if (rng() % 3 == 0) this->mem.release_retired(); // "after the flush": frames reused
    }
    EXPECT_GT(this->total_checks_, 100u);
    ::testing::Test::RecordProperty("checked_writes", static_cast<int>(this->total_checks_));
}

TYPED_TEST(Atomicity, RandomOperationsWhileHardwareSetsAccessedBits)
{
    this->hw_noise_ = true;
    std::mt19937_64 rng(0xacce55 + TypeParam::levels * 3 + TypeParam::max_leaf);
    for (int i = 0; i < 40 && !this->HasFatalFailure(); ++i) {
        this->checked(this->random_op(rng), rng() % 8 == 0);
        if (rng() % 3 == 0) this->mem.release_retired();
    }
    EXPECT_GT(this->total_checks_, 100u);
}

} // namespace
} // namespace vbh::ept::test
