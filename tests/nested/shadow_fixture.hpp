// A fake host for the shadow NPT tests: KVM's tables in a map of 8-byte words, the
// pages the host owns, what vbh lets the host do with each frame, and a shadow pool.
#pragma once

#include <vbh/svm/shadow_npt.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <utility>

namespace vbh::svm::test {

struct FakeHost {
    std::map<std::uint64_t, std::uint64_t> mem; // pa -> entry
    std::set<std::uint64_t> table_pages;        // pfns of host RAM holding tables
    std::map<std::uint64_t, std::uint8_t> frames; // pfn -> vbh's perm for the host
    std::uint64_t next_table = 0x100000;
    int fail_updates = 0; // the next n updates lose a race
    int updates = 0;
    std::uint8_t (*perm_of)(std::uint64_t pfn) = nullptr; // instead of frames
    // Private memory (GUEST_DONATE): pfn -> (domain, gfn it was donated for).
    std::map<std::uint64_t, std::pair<std::uint16_t, std::uint64_t>> private_frames;

    EntryRead read_entry(std::uint64_t pa) {
        if (!table_pages.count(pa >> 12))
            return {false, 0};
        return {true, mem[pa]};
    }
    bool update_entry(std::uint64_t pa, std::uint64_t old, std::uint64_t want) {
        ++updates;
        if (fail_updates > 0) {
            --fail_updates;
            return false;
        }
        if (mem[pa] != old)
            return false;
        mem[pa] = want;
        return true;
    }
    // As the image's (nested_shadow.hpp, HostTables::frame_perm).
    std::uint8_t frame_perm(std::uint64_t pa, std::uint64_t gfn, std::uint16_t dom) {
        const auto p = private_frames.find(pa >> 12);
        if (p != private_frames.end())
            return dom != 0 && p->second == std::pair{dom, gfn} ? perm::rwx : 0;
        if (perm_of)
            return perm_of(pa >> 12);
        const auto it = frames.find(pa >> 12);
        return it == frames.end() ? 0 : it->second;
    }

    std::uint64_t new_table() {
        const std::uint64_t pa = next_table;
        next_table += 4096;
        table_pages.insert(pa >> 12);
        return pa;
    }
    std::uint64_t& entry(std::uint64_t table, std::uint64_t gpa, int level) {
        return mem[table + ((gpa >> (12 + 9 * (level - 1))) & 511) * 8];
    }
};
static_assert(ShadowEnv<FakeHost>);

// KVM-style tables: map one leaf of gpa at level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB) with
// the given bits at every level above it (tables made on the way).
struct KvmTables {
    FakeHost& host;
    std::uint64_t root;
    explicit KvmTables(FakeHost& h) : host{h}, root{h.new_table()} {}

    std::uint64_t& leaf(std::uint64_t gpa, std::uint64_t frame, int level,
                        std::uint64_t leaf_bits, std::uint64_t table_bits = npte::p | npte::rw | npte::us) {
        std::uint64_t t = root;
        for (int l = 4; l > level; --l) {
            std::uint64_t& e = host.entry(t, gpa, l);
            if (!(e & npte::p))
                e = host.new_table() | table_bits;
            t = e & 0x000ffffffffff000ull;
        }
        std::uint64_t& e = host.entry(t, gpa, level);
        e = frame | leaf_bits | (level > 1 ? npte::ps : 0);
        return e;
    }
    std::uint64_t& at(std::uint64_t gpa, int level) {
        std::uint64_t t = root;
        for (int l = 4; l > level; --l)
            t = host.entry(t, gpa, l) & 0x000ffffffffff000ull;
        return host.entry(t, gpa, level);
    }
};

// A pool of shadow pages at a made-up physical address.
struct Pool {
    struct Free {
        void operator()(std::uint64_t* p) const { std::free(p); }
    };
    static constexpr std::uint64_t pa = 0x40000000000ull;
    std::unique_ptr<std::uint64_t, Free> mem;
    ShadowNpt s;
    explicit Pool(std::uint32_t pages, bool nxe = true)
        : mem{static_cast<std::uint64_t*>(std::aligned_alloc(4096, pages * 4096ull))} {
        std::fill(mem.get(), mem.get() + pages * 512ull, 0);
        s.init(mem.get(), pa, pages, nxe);
    }
};

inline constexpr NptWalkCaps walk_caps{48, true, true};
inline constexpr std::uint64_t rw_user = npte::p | npte::rw | npte::us;

} // namespace vbh::svm::test
