// Shared fixture for the engine tests: one Table per format over a RecordingMemory.
#pragma once

#include "model.hpp"
#include "recording_memory.hpp"

#include <ept/ept.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace vbh::ept::test {

using Formats = ::testing::Types<Npt, Hpt, Ept, Vtd, Vtd3, BasicNpt<1>, AmdVi>;

template <class F>
class TableTest : public ::testing::Test {
protected:
    using Mem = RecordingMemory<>;
    using T = Table<F, Mem>;

    std::vector<Leaf> leaves(std::uint64_t va = 0, std::uint64_t size = va_limit<F>) const
    {
        std::vector<Leaf> out;
        t.for_each(va, size, [&out](const Leaf& l) { out.push_back(l); });
        return out;
    }

    // Frames reachable from the root, retired but not yet released, and free must add up
    // to the pool: nothing leaks, nothing is handed out twice.
    void expect_frames_conserved()
    {
        std::set<std::uint64_t> frames;
        (void)hw_walk<F>(mem, t.root(), &frames);
        for (std::uint64_t f : frames) EXPECT_FALSE(mem.retired().count(f)) << "retired frame still linked";
        EXPECT_EQ(frames.size() + mem.retired().size() + mem.pool_available(), Mem::capacity);
    }

    Change ok(Result<Change> r)
    {
        EXPECT_TRUE(r.has_value()) << to_string(r.error());
        return r.has_value() ? *r : Change{};
    }

    // Applies op after costing it, checks the cost was exact.
    Change run(const Op& op)
    {
        const auto need = t.tables_needed(op);
        EXPECT_TRUE(need.has_value());
        EXPECT_LE(need.value_or(0), T::tables_bound(op.va, op.size));
        const Change c = ok(t.apply(op));
        EXPECT_EQ(c.allocated, need.value_or(0));
        return c;
    }

    // The table of entries at `level` on the path to va, as hardware would walk it.
    Slot* slot_of(std::uint64_t va, unsigned level)
    {
        std::uint64_t table = t.root();
        for (unsigned l = F::levels - 1; l > level; --l) {
            const std::uint64_t e = mem.entries(table)[index(va, l)].load();
            if (!F::present(e) || F::is_leaf(e, l)) return nullptr;
            table = F::address(e, l);
        }
        return mem.entries(table);
    }

    Mem mem;
    T t = T::create(mem).value();
};

} // namespace vbh::ept::test
