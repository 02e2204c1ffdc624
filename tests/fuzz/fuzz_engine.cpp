// libFuzzer target: the page-table engine against its reference model
// (tests/ept/model.hpp), every format in ept/. An input picks a format, then up to 32
// operations: map, unmap, protect (any alignment inside 8 GiB, sizes from one page to
// several 1 GiB pages, any attributes, so splits and re-merges happen everywhere) and
// explicit merges, on a pool small enough to run dry. A map may ask for Remerge::later
// (the tables it leaves uniform stay until a merge). After every operation:
//   - an operation the engine accepted changed the translations exactly as the model
//     says, one it refused (invalid, range, no_memory) changed nothing;
//   - every lookup at a segment's edges agrees with the walk;
//   - no table frame is lost: after the flush, the pool's free frames plus the frames
//     reachable from the root are the whole pool.
// At the end of an input that deferred a re-merge, a merge of the whole space changes no
// translation and leaves no reachable table that translates like one superpage or hole
// (what Remerge::later deferred, merge() collapses).
#include "byte_reader.hpp"
#include "harness.hpp"
#include "../ept/model.hpp"

#include <cstdio>
#include <cstdlib>

namespace {

using namespace vbh;
using namespace vbh::ept;
using namespace vbh::ept::test;
using vbh::fuzz::ByteReader;

constexpr std::size_t pool_frames = 48;
using Pool = FramePool<pool_frames>;

// The harness's walks and checks are HARNESS code; the reference model
// (tests/ept/model.hpp) and the standard library are left out of the instrumentation
// by tests/fuzz/coverage_ignore.txt.

[[noreturn]] void fail(const char* what, std::uint64_t va = 0) {
    std::fprintf(stderr, "invariant broken: %s (va %#llx)\n", what, static_cast<unsigned long long>(va));
    std::abort();
}

std::uint64_t pick_va(ByteReader& in) {
    static constexpr std::uint64_t bases[] = {0, mib2, gib1, gib1 - mib2, 2 * gib1, 3 * gib1 + mib2,
                                              7 * gib1};
    return bases[in.u8() % 7] + (in.u8() % 4 == 0 ? 0 : std::uint64_t(in.u16() % 1024) * kib4);
}

std::uint64_t pick_size(ByteReader& in) {
    switch (in.u8() % 8) {
    case 0: return mib2;
    case 1: return gib1;
    case 2: return 2 * gib1 + kib4 * (in.u8() % 3);
    case 3: return mib2 * (1 + in.u8() % 8) - kib4 * (in.u8() % 2);
    case 4: return std::uint64_t(in.u8()) * 3; // unaligned or zero: invalid
    default: return kib4 * (1 + in.u16() % 1100);
    }
}

Attrs pick_attrs(ByteReader& in) {
    static constexpr Perm perms[] = {Perm::r, Perm::rw, Perm::rx, Perm::rwx, Perm::w, Perm::x, Perm::none};
    static constexpr MemType types[] = {MemType::wb, MemType::uc, MemType::wc, MemType::wt, MemType::wp,
                                        MemType::uc_minus};
    const std::uint8_t b = in.u8();
    return Attrs{perms[in.u8() % 7], types[in.u8() % 6], (b & 1) != 0, (b & 2) != 0, (b & 4) != 0};
}

template <Format F>
HARNESS Segs walk(const Table<F, Pool>& t) {
    Segs out;
    t.for_each(0, va_limit<F>, [&](const Leaf& l) { push_coalesced(out, Seg{l.va, l.va + l.size, l.pa, l.attrs}); });
    return out;
}

// Frames reachable from the root, root included.
template <Format F>
HARNESS std::size_t tables(Pool& pool, std::uint64_t table, unsigned level) {
    std::size_t n = 1;
    const Slot* e = pool.entries(table);
    for (unsigned i = 0; i < entries_per_table && level > 0; ++i) {
        const std::uint64_t v = e[i].load(std::memory_order_relaxed);
        if (F::present(v) && !F::is_leaf(v, level))
            n += tables<F>(pool, F::address(v, level), level - 1);
    }
    return n;
}

template <Format F>
HARNESS void check(Table<F, Pool>& t, Pool& pool, const Model& model) {
    const Segs now = walk<F>(t);
    if (!(now == model.segs))
        fail("translations differ from the model", now.empty() ? 0 : now.front().va);
    for (const Seg& s : now)
        for (std::uint64_t va : {s.va, s.end - kib4}) {
            const auto l = t.lookup(va);
            if (!l || l->pa + (va - l->va) != s.pa + (va - s.va) || !(l->attrs == s.attrs))
                fail("lookup disagrees with the walk", va);
        }
    if (pool.available() + tables<F>(pool, t.root(), F::levels - 1) != pool_frames)
        fail("a table frame was lost or handed out twice", t.root());
}

// Whether a table of entries at `level` translates like one hole or one superpage at
// level + 1, decided from the decoded entries (an oracle independent of the engine's
// own uniform(), which compares raw entries).
template <Format F>
HARNESS bool mergeable(const Slot* e, unsigned level) {
    const std::uint64_t first = e[0].load(std::memory_order_relaxed);
    bool holes = true, leaves = level + 1 <= F::max_leaf;
    const std::uint64_t size = page_size(level), pa = F::address(first, level);
    leaves = leaves && F::is_leaf(first, level) && pa % page_size(level + 1) == 0;
    for (unsigned i = 0; i < entries_per_table; ++i) {
        const std::uint64_t v = e[i].load(std::memory_order_relaxed);
        holes = holes && !F::present(v);
        leaves = leaves && F::is_leaf(v, level) && F::address(v, level) == pa + i * size &&
                 F::attrs(v, level) == F::attrs(first, level);
    }
    return holes || leaves;
}

// No table below the root could be merged: fully merged.
template <Format F>
HARNESS void check_merged(Pool& pool, std::uint64_t table, unsigned level, bool root) {
    const Slot* e = pool.entries(table);
    if (!root && mergeable<F>(e, level))
        fail("a mergeable table survived a merge of everything", table);
    for (unsigned i = 0; i < entries_per_table && level > 0; ++i) {
        const std::uint64_t v = e[i].load(std::memory_order_relaxed);
        if (F::present(v) && !F::is_leaf(v, level))
            check_merged<F>(pool, F::address(v, level), level - 1, false);
    }
}

template <Format F>
void run(ByteReader& in) {
    static Pool* const pool = new Pool(0); // reset, not rebuilt: that zeroed 48 frames
    pool->reset();
    auto t = Table<F, Pool>::create(*pool);
    if (!t)
        fail("no root");
    Model model;
    bool deferred = false;
    for (int ops = 0; !in.empty() && ops < 32; ++ops) {
        const std::uint8_t kind = in.u8() % 8;
        const std::uint64_t va = pick_va(in), size = pick_size(in);
        if (kind == 7) {
            const Change ch = t->merge(va, size); // re-merges only: translations stay
            (void)ch;
        } else {
            Op op = kind < 4 ? Op::map(va, va ^ (std::uint64_t(in.u8() % 4) << 30), size, pick_attrs(in))
                    : kind < 6 ? Op::unmap(va, size)
                               : Op::protect(va, size, pick_attrs(in).perm);
            if (op.kind == OpKind::protect && op.attrs.perm == Perm::none)
                op.attrs.perm = Perm::r; // none is "no translation": unmap says that
            const auto need = t->tables_needed(op);
            const auto r = t->apply(op, kind == 3 ? Remerge::later : Remerge::now);
            deferred |= kind == 3;
            if (need.has_value() != (r.has_value() || r.error() == Status::no_memory))
                fail("tables_needed and apply disagree on validity", va);
            if (r) {
                if (r->allocated > *need)
                    fail("apply allocated more than tables_needed said", va);
                model.apply<F>(op);
            }
        }
        pool->release_retired();
        check<F>(*t, *pool, model);
    }
    if (!deferred)
        return;
    (void)t->merge(0, va_limit<F>);
    pool->release_retired();
    check<F>(*t, *pool, model);
    check_merged<F>(*pool, t->root(), F::levels - 1, true);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteReader in{data, size};
    switch (in.u8() % 6) {
    case 0: run<Npt>(in); break;
    case 1: run<Ept>(in); break;
    case 2: run<Vtd>(in); break;
    case 3: run<Vtd3>(in); break;
    case 4: run<AmdVi>(in); break;
    default: run<Hpt>(in); break;
    }
    return 0;
}
