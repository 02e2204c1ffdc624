// Read-only walks (lookup, for_each) and the explicit re-merge walk.
#pragma once

#include <ept/detail/entry.hpp>

namespace vbh::ept::detail {

// The leaf translating va, walked as hardware does (SDM §4.5, §29.3.2; APM §5.3.3).
template <Format F, TableMemory M>
std::optional<Leaf> lookup(M& mem, std::uint64_t root, std::uint64_t va)
{
    if (va >= va_limit<F>) return std::nullopt;
    std::uint64_t table = root;
    for (unsigned level = F::levels - 1;; --level) {
        const std::uint64_t e = load(mem.entries(table)[index(va, level)]);
        if (!F::present(e)) return std::nullopt;
        if (F::is_leaf(e, level)) {
            const std::uint64_t size = page_size(level);
            return Leaf{va & ~(size - 1), F::address(e, level), size, F::attrs(e, level), level};
        }
        if (level == 0) return std::nullopt;
        table = F::address(e, level);
    }
}

// Whether va translates: lookup(va).has_value(), with nothing built on the way. Unrolled
// by level (Level is a constant in each copy), so each level's leaf and last-level
// tests fold; a hypervisor asks this on every blocked host access (an NPF exit).
template <Format F, unsigned Level, TableMemory M>
[[gnu::always_inline]] inline bool translates(M& mem, std::uint64_t table, std::uint64_t va)
{
    const std::uint64_t e = load(mem.entries(table)[index(va, Level)]);
    if (!F::present(e)) return false;
    if (F::is_leaf(e, Level)) return true;
    if constexpr (Level == 0) return false;
    else return translates<F, Level - 1>(mem, F::address(e, Level), va);
}

// Calls fn(const Leaf&) for each leaf overlapping [va, end), in address order.
template <Format F, TableMemory M, class Fn>
void for_each(M& mem, std::uint64_t table, unsigned level, std::uint64_t base, std::uint64_t va,
    std::uint64_t end, Fn& fn)
{
    const Slot* t = mem.entries(table);
    const std::uint64_t span = page_size(level);
    const std::uint64_t top = base + span * entries_per_table;
    for (std::uint64_t at = (va > base ? va : base) & ~(span - 1); at < top && at < end; at += span) {
        const std::uint64_t e = load(t[index(at, level)]);
        if (F::is_leaf(e, level))
            fn(Leaf{at, F::address(e, level), span, F::attrs(e, level), level});
        else if (is_table<F>(e, level))
            for_each<F>(mem, F::address(e, level), level - 1, at, va, end, fn);
    }
}

// Collapses, bottom-up, every table overlapping [va, end) that has become uniform.
template <Format F, TableMemory M>
void merge(Ctx<F, M>& c, std::uint64_t table, unsigned level, std::uint64_t base, std::uint64_t va,
    std::uint64_t end)
{
    Slot* t = c.mem->entries(table);
    const std::uint64_t span = page_size(level);
    const std::uint64_t top = base + span * entries_per_table;
    for (std::uint64_t at = (va > base ? va : base) & ~(span - 1); at < top && at < end; at += span) {
        Slot& s = t[index(at, level)];
        const std::uint64_t e = load(s);
        if (!is_table<F>(e, level)) continue;
        merge(c, F::address(e, level), level - 1, at, va, end);
        collapse(c, s, level);
    }
}

} // namespace vbh::ept::detail
