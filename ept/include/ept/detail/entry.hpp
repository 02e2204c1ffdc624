// Entry-level steps of the engine: every store to a live table goes through replace(),
// a compare-and-swap that tolerates hardware setting A/D bits in the meantime. Each step
// keeps every address outside the entry's range translating as before, and addresses
// inside translating either the old way or the new way:
//   split:    the new table is fully written (unreachable) before one CAS swaps it in;
//   collapse: the superpage is equivalent to the table it replaces, installed by one CAS;
//   replace:  one CAS; a subtree that it unlinks is only retired, never reused, until the
//             caller has flushed.
#pragma once

#include <ept/format.hpp>
#include <ept/memory.hpp>
#include <ept/op.hpp>

#include <cstdint>
#include <optional>

namespace vbh::ept::detail {

template <Format F, TableMemory M>
struct Ctx {
    M* mem;
    Change* change;
    Remerge remerge = Remerge::now;
};

inline std::uint64_t load(const Slot& s) { return s.load(std::memory_order_acquire); }

template <Format F>
constexpr bool is_table(std::uint64_t e, unsigned level)
{
    return level > 0 && F::present(e) && !F::is_leaf(e, level);
}

// Entry i of the table a split of entry e (at level) would create.
template <Format F>
constexpr std::uint64_t child(std::uint64_t e, unsigned level, unsigned i)
{
    if (!F::present(e)) return 0;
    const std::uint64_t pa = F::address(e, level) + i * page_size(level - 1);
    return F::leaf(pa, F::attrs(e, level), level - 1) | (e & F::hw_bits);
}

// Leaves of one level and attributes differ only in their address, which every format
// keeps at its own bit position (bits 51:12, below every bit hardware sets):
// leaf(pa + k * size) == leaf(pa) + k * size. split() and uniform() fill and check a whole
// table with one addition per entry instead of encoding and decoding 512 entries.
template <Format F>
constexpr bool linear_leaves()
{
    constexpr Attrs samples[] = {{Perm::rw, MemType::wb}, {Perm::rwx, MemType::wb, true, true, true},
        {Perm::r, MemType::uc}, {Perm::rx, MemType::wt}};
    constexpr std::uint64_t pa = 0x0007'ff80'0000'0000ull; // 512 GiB aligned, room above
    for (unsigned level = 0; level <= F::max_leaf; ++level) {
        const std::uint64_t size = page_size(level);
        for (const Attrs& a : samples) {
            if (!F::encodable(a)) continue;
            const std::uint64_t first = F::leaf(pa, a, level);
            if ((first & F::hw_bits) != 0 || F::leaf(pa + size, a, level) != first + size ||
                F::leaf(pa + (entries_per_table - 1) * size, a, level) !=
                    first + (entries_per_table - 1) * size)
                return false;
        }
    }
    return true;
}

// Store into an entry of a table no walker can reach yet.
template <Format F, TableMemory M>
void init(Ctx<F, M>& c, Slot& s, std::uint64_t v)
{
    s.store(v, std::memory_order_relaxed);
    c.mem->wrote(&s);
}

// Swap old -> neu; if hardware changed only A/D bits since old was read, retry, carrying
// them over when keep_hw (the same page stays mapped). Returns the value replaced.
template <Format F, TableMemory M>
std::uint64_t replace(Ctx<F, M>& c, Slot& s, std::uint64_t old, std::uint64_t neu, bool keep_hw)
{
    for (;;) {
        const std::uint64_t want = keep_hw ? neu | (old & F::hw_bits) : neu;
        if (s.compare_exchange_strong(old, want, std::memory_order_acq_rel)) break;
    }
    c.mem->wrote(&s);
    c.change->flush |= F::present(old) || F::flush_on_map;
    return old;
}

template <Format F, TableMemory M>
std::uint64_t new_table(Ctx<F, M>& c)
{
    const auto frame = c.mem->alloc();
    // The caller checked available() against the exact need (Table::apply).
    if (!frame) __builtin_trap();
    ++c.change->allocated;
    return *frame;
}

template <Format F, TableMemory M>
void retire_subtree(Ctx<F, M>& c, std::uint64_t table_pa, unsigned level)
{
    Slot* t = c.mem->entries(table_pa);
    for (unsigned i = 0; level > 0 && i < entries_per_table; ++i) {
        const std::uint64_t e = load(t[i]);
        if (is_table<F>(e, level)) retire_subtree(c, F::address(e, level), level - 1);
    }
    c.mem->retire(table_pa);
    ++c.change->retired;
    c.change->flush = true;
}

// Turn the leaf or hole e at level into a table of equivalent entries; returns the new
// entry value.
template <Format F, TableMemory M>
std::uint64_t split(Ctx<F, M>& c, Slot& s, std::uint64_t e, unsigned level)
{
    static_assert(linear_leaves<F>());
    const std::uint64_t pa = new_table(c);
    Slot* t = c.mem->entries(pa);
    if (F::present(e)) {
        const std::uint64_t first = child<F>(e, level, 0), step = page_size(level - 1);
        for (unsigned i = 0; i < entries_per_table; ++i)
            init(c, t[i], first + i * step);
    }
    const std::uint64_t table = F::table(pa, level);
    replace(c, s, e, table, false);
    return table;
}

// The value a table (of entries at level - 1) collapses to: a hole if it is empty, a
// superpage at level if its entries are the leaves a split of that superpage would
// write (one aligned contiguous range, equal attributes, bit for bit but for the bits
// hardware sets, which the superpage collects); nothing otherwise.
template <Format F>
std::optional<std::uint64_t> uniform(const Slot* t, unsigned level)
{
    static_assert(linear_leaves<F>());
    const std::uint64_t first = load(t[0]), last = load(t[entries_per_table - 1]);
    // Cheap rejection first: most tables touched by a small change are not uniform, and
    // their first and last entries already differ in kind or attributes.
    if (F::present(first) != F::present(last)) return std::nullopt;
    if (!F::present(first)) {
        for (unsigned i = 1; i < entries_per_table; ++i)
            if (F::present(load(t[i]))) return std::nullopt;
        return 0;
    }
    if (!leaf_ok<F>(level) || !F::is_leaf(first, level - 1)) return std::nullopt;
    const std::uint64_t pa = F::address(first, level - 1), step = page_size(level - 1);
    const Attrs a = F::attrs(first, level - 1);
    // Compared raw, an entry must be the canonical encoding of its leaf: a table a loader
    // wrote with other (equivalent) bits stays a table, which translates the same.
    const std::uint64_t base = F::leaf(pa, a, level - 1);
    if ((pa & (page_size(level) - 1)) || (last & ~F::hw_bits) != base + (entries_per_table - 1) * step)
        return std::nullopt;
    std::uint64_t hw = 0, differ = 0;
    for (unsigned i = 0; i < entries_per_table; ++i) {
        const std::uint64_t e = load(t[i]);
        differ |= (e & ~F::hw_bits) ^ (base + i * step);
        hw |= e & F::hw_bits;
    }
    if (differ != 0) return std::nullopt;
    return F::leaf(pa, a, level) | hw;
}

// Re-merge: replace the table under s by its uniform equivalent, if it has one.
template <Format F, TableMemory M>
void collapse(Ctx<F, M>& c, Slot& s, unsigned level)
{
    const std::uint64_t e = load(s);
    if (!is_table<F>(e, level)) return;
    const std::uint64_t table_pa = F::address(e, level);
    const auto merged = uniform<F>(c.mem->entries(table_pa), level);
    if (!merged) return;
    replace(c, s, e, *merged, false);
    // A uniform table holds leaves or holes only: nothing below it to retire.
    c.mem->retire(table_pa);
    ++c.change->retired;
    c.change->flush = true;
}

} // namespace vbh::ept::detail
