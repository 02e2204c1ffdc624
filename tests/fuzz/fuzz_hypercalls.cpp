// libFuzzer target: arbitrary sequences of hypercalls (any number, any registers, ring
// 0 or 3, argument lists the "host" writes into its own frames, page-table pool
// stolen and returned) against the core driving the real NPT engine. After every call:
//   - the host table is exactly what the ownership map says (no frame mapped for the
//     host while hypervisor-owned or private; every host/shared frame mapped 1:1);
//   - per-domain counters match the map;
//   - every private guest frame has one gfn record, in its own domain's tree, and no
//     other frame has one (a frame is in at most one domain at one gfn);
//   - a GUEST_RECLAIM makes every CPU flush (its shadows go), though it unmaps nothing;
//   - a call that failed changed nothing (ownership, domains, table entries; short of
//     frames it may only re-merge deferred tables, and then the whole table is checked);
//   - frames a reclaim or destroy handed back read as zero (the harness writes a
//     secret into every frame a domain receives).
// Cost per input in proportion to what it did (docs/fuzzing.md): the machine is built
// once and restored (fuzz_machine.hpp); each check covers the frames whose ownership
// the call changed, found by comparing the map with the harness's copy; the whole
// table is compared with the whole map, and every frame's gfn record checked, at the end
// of every 32nd input.
#include "byte_reader.hpp"
#include "fuzz_machine.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace vbh;
using vbh::fuzz::ByteReader;
using vbh::fuzz::top;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "invariant broken: %s %s\n", what, detail.c_str());
    std::abort();
}

using Machine = fuzz::FuzzMachine;

// The harness's own checks carry HARNESS (fuzz_machine.hpp): no coverage callbacks.

// Recently used values: sequences that reuse them (donate X, fill X, reclaim X) are
// what reach deep states; uniform picks rarely line up.
struct Recent {
    std::uint64_t pfn = 2048;
    std::uint64_t dom = 1;
    std::uint64_t gfn = 0;
} recent;

std::uint64_t pick_pfn(ByteReader& in) {
    static constexpr std::uint64_t edges[] = {0, 255, 256, 271, 272, 511, 512, 1023, 1024,
                                              1535, 1536, 2047, 2048, 4095, 4096, 1ull << 40};
    switch (in.u8() % 8) {
    case 5: return edges[in.u8() % 16];
    case 6: return in.u64();
    case 7: return 256 + in.u8() % 16; // hypervisor memory
    case 4:
    case 3: return recent.pfn + in.u8() % 4;
    default: return recent.pfn = in.u16() % (top + 64);
    }
}

std::uint64_t pick_count(ByteReader& in) {
    switch (in.u8() % 8) {
    case 0: return 0;
    case 1: return in.u16() % 1100;
    case 2: return 512;
    case 3: return in.u64();
    default: return 1 + in.u8() % 8;
    }
}

std::uint64_t pick_dom(ByteReader& in) {
    std::uint8_t b = in.u8();
    return b < 128 ? recent.dom : b < 240 ? b % 6 : in.u64();
}

std::uint64_t pick_gfn(ByteReader& in) {
    switch (in.u8() % 8) {
    case 0: return in.u64();
    case 1: return GfnMap::key_limit - in.u8() % 4;
    case 2: return std::uint64_t(in.u8()) << 27; // a gfn far from the others: new nodes
    case 3:
    case 4: return recent.gfn + in.u8() % 4;
    default: return recent.gfn = in.u16() % 2048;
    }
}

// The host writes a donate_list array into a frame, if the frame is its to write.
std::uint64_t write_list(Machine& m, ByteReader& in, std::uint64_t& entries) {
    Pfn frame{pick_pfn(in) % top};
    std::uint64_t offset = (in.u8() % 256) * 16 + (in.u8() % 16 == 0 ? 8 : 0);
    entries = in.u8() % 16 == 0 ? in.u64() : 1 + in.u8() % 6;
    if (m.core->frames().at(frame).host_mapped()) {
        std::uint64_t* w = m.mem.words(frame);
        for (std::uint64_t i = 0; i < entries && i < 8 && offset / 8 + 2 * i + 1 < words_per_frame; ++i) {
            w[offset / 8 + 2 * i] = pick_pfn(in);
            w[offset / 8 + 2 * i + 1] = pick_count(in);
        }
    }
    return frame.phys() + offset;
}

HypercallRegs next_call(Machine& m, ByteReader& in) {
    static constexpr std::uint64_t calls[] = {
        VBH_HC_VERSION, VBH_HC_DOMAIN_CREATE, VBH_HC_DOMAIN_DESTROY, VBH_HC_HOST_SHARE,
        VBH_HC_HOST_UNSHARE, VBH_HC_HOST_DONATE, VBH_HC_HOST_RECLAIM, VBH_HC_HYP_DONATE,
        VBH_HC_HOST_DONATE_LIST, VBH_HC_TEST_FILL, VBH_HC_TEST_HASH, VBH_HC_HOST_DONATE,
        VBH_HC_HOST_RECLAIM, VBH_HC_HOST_SHARE, VBH_HC_STATS_READ, 0x77,
        VBH_HC_DOMAIN_BIND_ROOT, VBH_HC_DOMAIN_UNBIND_ROOT, VBH_HC_GUEST_DONATE,
        VBH_HC_GUEST_RECLAIM, VBH_HC_GUEST_DONATE, VBH_HC_GUEST_RECLAIM};
    std::uint64_t nr = calls[in.u8() % 22];
    HypercallRegs r{nr, 0, 0, 0, 0};
    if (nr == VBH_HC_GUEST_DONATE) {
        r = {nr, pick_pfn(in), pick_count(in), pick_dom(in), pick_gfn(in)};
    } else if (nr == VBH_HC_GUEST_RECLAIM) {
        r = {nr, pick_pfn(in), pick_count(in), 0, 0};
    } else if (nr == VBH_HC_DOMAIN_BIND_ROOT || nr == VBH_HC_DOMAIN_UNBIND_ROOT) {
        r = {nr, pick_dom(in), (pick_pfn(in) << frame_shift) | (in.u8() % 16 == 0 ? 8 : 0), 0, 0};
    } else if (nr == VBH_HC_DOMAIN_CREATE) {
        r.rdi = in.u8() % 8 == 0 ? in.u64() : in.u8() % 2;
    } else if (nr == VBH_HC_DOMAIN_DESTROY) {
        r.rdi = pick_dom(in);
    } else if (nr == VBH_HC_TEST_FILL || nr == VBH_HC_TEST_HASH) {
        // Ranges are checked as for every other call; the contents are written or
        // hashed a word at a time, so past a few frames a longer range only costs time.
        r = {nr, pick_dom(in), pick_pfn(in), pick_count(in), in.u64()};
        if (r.rdx > 16 && r.rdx < top)
            r.rdx %= 16;
    } else if (nr == VBH_HC_HOST_DONATE_LIST) {
        r.rdi = write_list(m, in, r.rsi);
        r.rdx = pick_dom(in);
    } else {
        r = {nr, pick_pfn(in), pick_count(in), pick_dom(in), 0};
    }
    return r;
}

// What the harness knows of the machine between calls: the ownership map as it was
// after the last call, and per-domain frame counts kept in step with it.
struct Shadow {
    std::uint16_t meta[top];
    std::uint64_t owned[VBH_MAX_DOMAINS], lent[VBH_MAX_DOMAINS], guest[VBH_MAX_DOMAINS];
    std::uint64_t lo = top, hi = 0; // frames the input changed, for restore()
};

HARNESS void count(Shadow& sh, FrameMeta f, std::int64_t delta) {
    if (f.owner() == Owner::domain)
        sh.owned[f.domain().value] += std::uint64_t(delta);
    if (f.owner() == Owner::shared)
        sh.lent[f.domain().value] += std::uint64_t(delta);
    if (f.owner() == Owner::guest)
        sh.guest[f.domain().value] += std::uint64_t(delta);
}

// [lo, hi) of the frames whose entry differs from the shadow; lo == hi if none.
// memcmp in 256-frame blocks: a call usually changes a few runs of frames.
struct Window {
    std::uint64_t lo, hi;
};
HARNESS Window changed(const Machine& m, const Shadow& sh) {
    constexpr std::uint64_t block = 256;
    std::uint64_t lo = top, hi = 0;
    if (fuzz::raw::memcmp(m.meta, sh.meta, sizeof sh.meta) == 0)
        return {0, 0};
    for (std::uint64_t b = 0; b < top; b += block) {
        if (fuzz::raw::memcmp(m.meta + b, sh.meta + b, block * sizeof sh.meta[0]) == 0)
            continue;
        for (std::uint64_t p = b; p < b + block; ++p)
            if (m.meta[p] != sh.meta[p]) {
                lo = p < lo ? p : lo;
                hi = p + 1;
            }
    }
    return lo < hi ? Window{lo, hi} : Window{0, 0};
}

// The host table over [lo, hi) is what the ownership map says: every leaf 1:1 RWX WB,
// every host/shared frame and every hole mapped, every hyp/domain frame absent.
HARNESS void check_table(const Machine& m, std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi)
        return;
    static bool mapped[top];
    std::memset(mapped + lo, 0, hi - lo);
    m.table->for_each(lo << frame_shift, (hi - lo) << frame_shift, [&](const ept::Leaf& l) {
        if (l.va != l.pa || l.attrs != ept::Attrs{ept::Perm::rwx, ept::MemType::wb})
            fail("host table: leaf is not 1:1 rwx wb", std::to_string(l.va));
        const std::uint64_t first = l.va >> frame_shift, end = (l.va + l.size) >> frame_shift;
        const std::uint64_t from = first > lo ? first : lo, to = end < hi ? end : hi;
        if (from < to)
            std::memset(mapped + from, 1, to - from);
    });
    for (std::uint64_t p = lo; p < hi; ++p) {
        const FrameMeta f = FrameMeta::from_raw(m.meta[p]);
        if (mapped[p] != (f.owner() == Owner::none || f.host_mapped()))
            fail("host table differs from ownership map at pfn", std::to_string(p));
    }
}

HARNESS void check_counters(const Machine& m, const Shadow& sh) {
    for (std::uint16_t d = 0; d < VBH_MAX_DOMAINS; ++d) {
        const Domain& dom = m.core->domains()[DomainId{d}];
        if (dom.owned != sh.owned[d] || dom.borrowed != sh.lent[d] || dom.guest != sh.guest[d])
            fail("domain counters", std::to_string(d));
        if (!dom.live && (sh.owned[d] || sh.lent[d] || sh.guest[d]))
            fail("frames of a dead domain", std::to_string(d));
    }
}

// Over the frames that changed owner: those that went from a domain to the host must
// read as zero; a domain writes its secrets into frames it has just been given.
HARNESS void check_scrubbed_plant_secrets(Machine& m, const Shadow& sh, Window w) {
    for (std::uint64_t p = w.lo; p < w.hi; ++p) {
        if (sh.meta[p] == m.meta[p])
            continue;
        const FrameMeta was = FrameMeta::from_raw(sh.meta[p]), now = m.core->frames().at(Pfn{p});
        const bool was_private = was.owner() == Owner::domain || was.owner() == Owner::guest;
        const bool is_private = now.owner() == Owner::domain || now.owner() == Owner::guest;
        if (was_private && now.owner() == Owner::host && !m.mem.zero(Pfn{p}))
            fail("unscrubbed frame", std::to_string(p));
        if (!was_private && is_private)
            m.mem.plant(Pfn{p}, 0x5ec2e7000000ull | p);
    }
}

// A gfn record exactly for private guest frames, found again from its gfn in its own
// domain's tree: over the frames of [lo, hi) whose entry differs from `before` (after a
// call), or all of them (before == nullptr: every 32nd input, which catches a record
// written for a frame the call did not change).
HARNESS void check_gfns(const Machine& m, std::uint64_t lo, std::uint64_t hi, const std::uint16_t* before) {
    const GfnMap& g = m.core->guests().gfns;
    for (std::uint64_t p = lo; p < hi; ++p) {
        if (before != nullptr && before[p] == m.meta[p])
            continue;
        const FrameMeta f = m.core->frames().at(Pfn{p});
        const std::uint64_t gfn = g.gfn_of(Pfn{p});
        if ((f.owner() == Owner::guest) != (gfn != GfnMap::no_gfn))
            fail("gfn record of a frame that is not private memory, or none", std::to_string(p));
        if (gfn != GfnMap::no_gfn && g.pfn_at(f.domain(), gfn) != p)
            fail("gfn record not in its domain's tree", std::to_string(p));
    }
}

// The shadow follows the map over the window.
HARNESS void advance(Machine& m, Shadow& sh, Window w) {
    for (std::uint64_t p = w.lo; p < w.hi; ++p) {
        if (sh.meta[p] == m.meta[p])
            continue;
        count(sh, FrameMeta::from_raw(sh.meta[p]), -1);
        count(sh, FrameMeta::from_raw(m.meta[p]), +1);
        sh.meta[p] = m.meta[p];
    }
    sh.lo = w.lo < sh.lo ? w.lo : sh.lo;
    sh.hi = w.hi > sh.hi ? w.hi : sh.hi;
}

void steal_or_return(Machine& m, ByteReader& in, std::vector<std::uint64_t>& stolen) {
    if (in.u8() % 2 == 0 && !stolen.empty()) {
        m.pool.free(stolen.back());
        stolen.pop_back();
    } else if (auto f = m.pool.alloc()) {
        stolen.push_back(*f);
    }
}

Machine& machine() {
    static Machine* m = new Machine;
    if (!m->init_ok)
        fail("machine set-up");
    return *m;
}

Shadow& pristine_shadow(const Machine& m) {
    static Shadow* sh = [&] {
        auto* s = new Shadow{};
        std::memcpy(s->meta, m.meta, sizeof s->meta);
        for (std::uint64_t p = 0; p < top; ++p)
            count(*s, FrameMeta::from_raw(s->meta[p]), +1);
        return s;
    }();
    return *sh;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static std::uint64_t inputs = 0;
    Machine& m = machine();
    static Shadow sh = pristine_shadow(m);
    ByteReader in{data, size};
    std::vector<std::uint64_t> stolen;
    recent = Recent{};
    for (int calls = 0; !in.empty() && calls < 64; ++calls) {
        std::uint8_t kind = in.u8();
        if (kind % 16 == 0) {
            steal_or_return(m, in, stolen);
            continue;
        }
        HypercallRegs regs = next_call(m, in);
        std::uint8_t cpl = kind % 16 == 1 ? 3 : 0;
        // Byte copies, compared byte for byte below (not constructed: that zeroed 3 KiB
        // per call).
        alignas(DomainTable) unsigned char domains[sizeof(DomainTable)];
        fuzz::raw::memcpy(domains, &m.core->domains(), sizeof domains);
        const std::uint64_t writes = m.pool.writes(), flushes = m.flushes;
        unsigned char roots[sizeof(RootTable)];
        fuzz::raw::memcpy(roots, &m.core->guests().roots, sizeof roots);
        const std::uint32_t gfn_free = m.core->guests().gfns.available();
        const std::size_t deferred = m.s2->deferred_ranges();
        HypercallOut out = m.core->dispatch(regs, Cpl{cpl});
        if (regs.rax == VBH_HC_DOMAIN_CREATE && out.status == Status::ok)
            recent.dom = out.out0;
        const Window w = changed(m, sh);
        // Short of frames, the core first re-merges the tables the stage-2 deferred
        // (core.hpp, reserve_all): the only table writes a failed call may make, and
        // then the whole table must still be what the map says.
        const bool compacted = out.status == Status::no_memory && deferred != 0 &&
                               m.s2->deferred_ranges() == 0;
        if (out.status != Status::ok &&
            (w.lo != w.hi || (m.pool.writes() != writes && !compacted) ||
             fuzz::raw::memcmp(&m.core->domains(), domains, sizeof domains) != 0 ||
             fuzz::raw::memcmp(&m.core->guests().roots, roots, sizeof roots) != 0 || m.core->guests().gfns.available() != gfn_free))
            fail("failed call changed state", to_string(out.status));
        if (regs.rax == VBH_HC_GUEST_RECLAIM && out.status == Status::ok && m.flushes == flushes)
            fail("guest reclaim without a cross-CPU flush");
        if (regs.rax == VBH_HC_GUEST_DONATE && out.status == Status::ok)
            recent.pfn = regs.rdi;
        if (compacted)
            check_table(m, 0, top);
        if (cpl != 0 && out.status != Status::denied)
            fail("ring 3 call not denied");
        check_table(m, w.lo, w.hi);
        check_scrubbed_plant_secrets(m, sh, w);
        check_gfns(m, w.lo, w.hi, sh.meta);
        advance(m, sh, w);
        if (out.status == Status::ok) // a failed call's domains were compared whole above
            check_counters(m, sh);
    }
    if (++inputs % 32 == 0) {
        check_table(m, 0, top);
        check_gfns(m, 0, top, nullptr);
    }
    for (std::uint64_t f : stolen)
        m.pool.free(f);
    // Back to the machine every input starts from.
    m.restore(sh.lo, sh.hi);
    const Shadow& p = pristine_shadow(m);
    if (sh.lo < sh.hi)
        std::memcpy(sh.meta + sh.lo, p.meta + sh.lo, (sh.hi - sh.lo) * sizeof sh.meta[0]);
    std::memcpy(sh.owned, p.owned, sizeof sh.owned);
    std::memcpy(sh.lent, p.lent, sizeof sh.lent);
    std::memcpy(sh.guest, p.guest, sizeof sh.guest);
    sh.lo = top;
    sh.hi = 0;
    return 0;
}
