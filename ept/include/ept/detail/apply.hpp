// The walk that performs an Op (apply_table) and its dry run (count_table), which follows
// exactly the same decisions without writing and returns how many table frames the
// perform step will allocate. Both visit each entry overlapping the range once:
//   - an entry wholly inside the range that the op can set in one store is set
//     (map: a leaf of the largest size the level and the pa alignment allow);
//   - otherwise the walk descends, splitting a leaf (or, for map, filling a hole) into a
//     new table first, and afterwards re-merges the table if it became uniform (unless
//     the caller asked for Remerge::later).
#pragma once

#include <ept/detail/entry.hpp>

namespace vbh::ept::detail {

inline std::uint64_t lo_of(const Op& op, std::uint64_t base) { return op.va > base ? op.va : base; }

template <Format F>
bool whole_ok(const Op& op, std::uint64_t old, unsigned level, std::uint64_t e_va)
{
    switch (op.kind) {
    case OpKind::map:
        return leaf_ok<F>(level) && ((op.pa + (e_va - op.va)) & (page_size(level) - 1)) == 0;
    case OpKind::unmap: return true;
    case OpKind::protect: return !is_table<F>(old, level);
    }
    return false;
}

template <Format F, TableMemory M>
void set_whole(Ctx<F, M>& c, Slot& s, std::uint64_t old, unsigned level, std::uint64_t e_va, const Op& op)
{
    std::uint64_t neu = 0;
    bool keep_hw = false;
    if (op.kind == OpKind::map) {
        neu = F::leaf(op.pa + (e_va - op.va), op.attrs, level);
    } else if (op.kind == OpKind::protect) {
        if (!F::present(old)) return;
        Attrs a = F::attrs(old, level);
        a.perm = op.attrs.perm;
        neu = F::leaf(F::address(old, level), a, level);
        keep_hw = true;
    } else if (!F::present(old)) {
        return;
    }
    if ((old & ~F::hw_bits) == neu) return;
    replace(c, s, old, neu, keep_hw);
    if (is_table<F>(old, level)) retire_subtree(c, F::address(old, level), level - 1);
}

template <Format F, TableMemory M>
void apply_table(Ctx<F, M>& c, std::uint64_t table_pa, unsigned level, std::uint64_t base, const Op& op);

template <Format F, TableMemory M>
void apply_entry(Ctx<F, M>& c, Slot& s, unsigned level, std::uint64_t e_va, const Op& op)
{
    const bool full = op.va <= e_va && e_va + page_size(level) <= op.end();
    std::uint64_t e = load(s);
    if (full && whole_ok<F>(op, e, level, e_va)) return set_whole(c, s, e, level, e_va, op);
    if (op.kind != OpKind::map && !F::present(e)) return;
    if (!is_table<F>(e, level)) e = split(c, s, e, level);
    apply_table(c, F::address(e, level), level - 1, e_va, op);
    if (c.remerge == Remerge::now) collapse(c, s, level);
}

// Entries at `level` of the table at table_pa, which translates from base.
template <Format F, TableMemory M>
void apply_table(Ctx<F, M>& c, std::uint64_t table_pa, unsigned level, std::uint64_t base, const Op& op)
{
    Slot* t = c.mem->entries(table_pa);
    const std::uint64_t span = page_size(level);
    const std::uint64_t end = base + span * entries_per_table;
    for (std::uint64_t va = lo_of(op, base) & ~(span - 1); va < end && va < op.end(); va += span)
        apply_entry(c, t[index(va, level)], level, va, op);
}

template <Format F, TableMemory M>
std::size_t count_table(Ctx<F, M>& c, const Slot* t, std::uint64_t parent, unsigned level,
    std::uint64_t base, const Op& op);

template <Format F, TableMemory M>
std::size_t count_entry(Ctx<F, M>& c, std::uint64_t e, unsigned level, std::uint64_t e_va, const Op& op)
{
    const bool full = op.va <= e_va && e_va + page_size(level) <= op.end();
    if (full && whole_ok<F>(op, e, level, e_va)) return 0;
    if (op.kind != OpKind::map && !F::present(e)) return 0;
    if (is_table<F>(e, level))
        return count_table(c, c.mem->entries(F::address(e, level)), 0, level - 1, e_va, op);
    return 1 + count_table(c, nullptr, e, level - 1, e_va, op);
}

// Like apply_table; t == nullptr stands for the table a split of `parent` would create.
template <Format F, TableMemory M>
std::size_t count_table(Ctx<F, M>& c, const Slot* t, std::uint64_t parent, unsigned level,
    std::uint64_t base, const Op& op)
{
    // 4 KiB entries: an op (4 KiB aligned, Table::check) sets each in one store.
    if (level == 0) return 0;
    const std::uint64_t span = page_size(level);
    const std::uint64_t end = base + span * entries_per_table;
    std::size_t n = 0;
    for (std::uint64_t va = lo_of(op, base) & ~(span - 1); va < end && va < op.end(); va += span) {
        const unsigned i = index(va, level);
        n += count_entry(c, t ? load(t[i]) : child<F>(parent, level + 1, i), level, va, op);
    }
    return n;
}

} // namespace vbh::ept::detail
