// The tests' view of a table: translations as sorted, coalesced segments, obtained either
// from a reference model of the operations or from a walk of the raw entries done the way
// hardware does it (independent of the engine's own walkers), plus format rules the
// hardware enforces (reserved bits, misconfigurations).
#pragma once

#include <ept/ept.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

namespace vbh::ept::test {

struct Seg {
    std::uint64_t va, end, pa;
    Attrs attrs;
    bool operator==(const Seg&) const = default;
};
using Segs = std::vector<Seg>;

inline void push_coalesced(Segs& out, const Seg& s)
{
    if (!out.empty()) {
        Seg& b = out.back();
        if (b.end == s.va && b.pa + (b.end - b.va) == s.pa && b.attrs == s.attrs) {
            b.end = s.end;
            return;
        }
    }
    out.push_back(s);
}

// Entries hardware would reject (reserved bits, EPT misconfigurations, NPT U/S = 0).
template <Format F>
const char* hw_fault(std::uint64_t e, unsigned level)
{
    if (!F::present(e)) return nullptr;
    if (level > F::max_leaf && (e & 0x80)) return "PS set above the largest leaf level";
    if constexpr (std::is_same_v<F, Npt>)
        if (!(e & 4)) return "NPT entry without U/S";
    if constexpr (std::is_same_v<F, Ept>) {
        if ((e & 3) == 2) return "EPT write without read";
        const auto mt = (e >> 3) & 7;
        if (F::is_leaf(e, level) && (mt == 2 || mt == 3 || mt == 7)) return "EPT bad memory type";
    }
    if constexpr (std::is_same_v<F, AmdVi>) {
        const auto next = (e >> 9) & 7; // AMD IOMMU spec §2.2.3: level of the next table
        if (F::is_leaf(e, level) ? next != 0 : next != level) return "AMD-Vi bad Next Level";
    }
    return nullptr;
}

template <Format F, class M>
void hw_walk_table(M& mem, std::uint64_t table, unsigned level, std::uint64_t base, Segs& out,
    std::set<std::uint64_t>* frames)
{
    if (frames) frames->insert(table);
    const Slot* t = mem.entries(table);
    for (unsigned i = 0; i < entries_per_table; ++i) {
        const std::uint64_t e = t[i].load(std::memory_order_relaxed);
        const std::uint64_t va = base + i * page_size(level);
        if (const char* f = hw_fault<F>(e, level)) ADD_FAILURE() << f << " at va " << std::hex << va;
        if (!F::present(e)) continue;
        if (F::is_leaf(e, level))
            push_coalesced(out, Seg{va, va + page_size(level), F::address(e, level), F::attrs(e, level)});
        else if (level > 0)
            hw_walk_table<F>(mem, F::address(e, level), level - 1, va, out, frames);
    }
}

template <Format F, class M>
Segs hw_walk(M& mem, std::uint64_t root, std::set<std::uint64_t>* frames = nullptr)
{
    Segs out;
    hw_walk_table<F>(mem, root, F::levels - 1, 0, out, frames);
    return out;
}

struct Probe {
    std::uint64_t pa;
    Attrs attrs;
    bool operator==(const Probe&) const = default;
};

inline std::optional<Probe> eval(const Segs& s, std::uint64_t va)
{
    auto it = std::upper_bound(s.begin(), s.end(), va, [](std::uint64_t v, const Seg& g) { return v < g.va; });
    if (it == s.begin()) return std::nullopt;
    --it;
    if (va >= it->end) return std::nullopt;
    return Probe{it->pa + (va - it->va), it->attrs};
}

// Reference semantics of the operations on a segment list.
struct Model {
    Segs segs;

    void cut(std::uint64_t va, std::uint64_t end, Segs& inside)
    {
        Segs out;
        for (const Seg& s : segs) {
            if (s.end <= va || s.va >= end) { out.push_back(s); continue; }
            if (s.va < va) out.push_back(Seg{s.va, va, s.pa, s.attrs});
            const std::uint64_t lo = std::max(s.va, va), hi = std::min(s.end, end);
            inside.push_back(Seg{lo, hi, s.pa + (lo - s.va), s.attrs});
            if (s.end > end) out.push_back(Seg{end, s.end, s.pa + (end - s.va), s.attrs});
        }
        segs = out;
    }
    void insert(const Segs& add)
    {
        Segs all = segs;
        all.insert(all.end(), add.begin(), add.end());
        std::sort(all.begin(), all.end(), [](const Seg& a, const Seg& b) { return a.va < b.va; });
        segs.clear();
        for (const Seg& s : all) push_coalesced(segs, s);
    }
    template <Format F>
    void apply(const Op& op)
    {
        Segs inside;
        cut(op.va, op.end(), inside);
        if (op.kind == OpKind::map) inside = {Seg{op.va, op.end(), op.pa, F::canonical(op.attrs)}};
        if (op.kind == OpKind::unmap) inside.clear();
        for (Seg& s : inside)
            if (op.kind == OpKind::protect) s.attrs = F::canonical(Attrs{op.attrs.perm, s.attrs.type,
                s.attrs.user, s.attrs.global, s.attrs.ignore_pat});
        insert(inside);
    }
};

// Every address outside [lo, hi) translates as in `before`; inside, as in `before` or
// `after`. Checking one address per interval between breakpoints of the three piecewise-
// linear translations covers every address.
inline ::testing::AssertionResult only_range_changed(const Segs& before, const Segs& after,
    const Segs& now, std::uint64_t lo, std::uint64_t hi)
{
    std::vector<std::uint64_t> points{0, lo, hi};
    for (const Segs* s : {&before, &after, &now})
        for (const Seg& g : *s) { points.push_back(g.va); points.push_back(g.end); }
    for (std::uint64_t p : points) {
        const auto cur = eval(now, p), old = eval(before, p);
        if (cur == old) continue;
        if (p >= lo && p < hi && cur == eval(after, p)) continue;
        auto hex = [](std::uint64_t v) { return ::testing::PrintToString(reinterpret_cast<void*>(v)); };
        return ::testing::AssertionFailure() << "va " << hex(p) << " (range " << hex(lo) << ".." << hex(hi)
                                             << ") translates to " << (cur ? hex(cur->pa) : "nothing")
                                             << " instead of " << (old ? hex(old->pa) : "nothing");
    }
    return ::testing::AssertionSuccess();
}

} // namespace vbh::ept::test
