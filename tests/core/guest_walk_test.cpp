// translate/fetch (vbh/guest_walk.hpp) over fake physical memory holding the host's
// page tables: 4- and 5-level walks, every leaf size, every way a walk stops, and an
// instruction fetched across a page boundary, then decoded (mmio_store.hpp).
#include <vbh/guest_walk.hpp>
#include <vbh/mmio_store.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace vbh {
namespace {

constexpr std::uint64_t P = 1, RW = 2, PS = 1u << 7, NX = 1ull << 63;
constexpr std::uint64_t page_mask = 0x000f'ffff'ffff'f000ull;

// Physical memory of 4 KiB frames: readable only where a frame was allocated (or
// allowed), the rest is refused as the hypervisor's reader refuses non-host RAM.
struct FakePhys {
    std::map<std::uint64_t, std::uint64_t> words;
    std::set<std::uint64_t> frames;
    std::uint64_t next = 0x10'0000;
    unsigned reads = 0;

    bool read_phys(std::uint64_t pa, std::uint64_t& out) {
        ++reads;
        EXPECT_EQ(pa & 7, 0u);
        if (frames.count(pa >> 12) == 0)
            return false;
        const auto it = words.find(pa);
        out = it == words.end() ? 0 : it->second;
        return true;
    }
    std::uint64_t frame() {
        const std::uint64_t pa = next;
        next += 0x1000;
        frames.insert(pa >> 12);
        return pa;
    }
    void allow(std::uint64_t pa) { frames.insert(pa >> 12); }
    void write_bytes(std::uint64_t pa, const std::vector<std::uint8_t>& b) {
        allow(pa);
        for (std::size_t i = 0; i < b.size(); ++i) {
            const std::uint64_t a = pa + i;
            allow(a);
            std::uint64_t& w = words[a & ~7ull];
            const unsigned sh = 8 * unsigned(a & 7);
            w = (w & ~(0xffull << sh)) | (std::uint64_t(b[i]) << sh);
        }
    }
};
static_assert(PhysReader<FakePhys>);

// Builds the host's tables top-down, as Linux would, and finds entries to corrupt.
struct Tables {
    FakePhys mem;
    unsigned levels;
    std::uint64_t root;

    explicit Tables(unsigned lv) : levels{lv}, root{mem.frame()} {}

    HostPaging paging(unsigned phys_bits = 46) const {
        HostPaging p;
        p.cr0 = 0x8000'0033; // PG, NE, ET, MP, PE
        p.cr3 = root;
        p.cr4 = cr4_pae | (levels == 5 ? cr4_la57 : 0);
        p.efer = efer_lme | efer_lma | efer_nxe | efer_sce;
        p.phys_addr_bits = phys_bits;
        return p;
    }

    static std::uint64_t index(std::uint64_t linear, unsigned level) {
        return (linear >> (12 + 9 * level)) & 0x1ff;
    }

    // The physical address of the entry at `level` that translates `linear`.
    std::uint64_t slot(std::uint64_t linear, unsigned level) {
        std::uint64_t table = root;
        for (unsigned l = levels - 1; l > level; --l)
            table = mem.words[table + index(linear, l) * 8] & page_mask;
        return table + index(linear, level) * 8;
    }

    void map(std::uint64_t linear, std::uint64_t pa, unsigned leaf, std::uint64_t flags = P | RW) {
        std::uint64_t table = root;
        for (unsigned l = levels - 1; l > leaf; --l) {
            std::uint64_t& e = mem.words[table + index(linear, l) * 8];
            if ((e & P) == 0)
                e = mem.frame() | P | RW;
            table = e & page_mask;
        }
        mem.words[table + index(linear, leaf) * 8] = pa | flags | (leaf > 0 ? PS : 0);
    }

    Translation walk(std::uint64_t linear, unsigned phys_bits = 46) {
        return translate(paging(phys_bits), linear, mem);
    }
};

constexpr std::uint64_t kernel_text = 0xffff'ffff'8100'0123ull; // 4-level canonical
constexpr std::uint64_t direct_map = 0xffff'8880'0345'6789ull;
constexpr std::uint64_t la57_addr = 0xff11'2233'4455'6677ull;   // 5-level canonical

TEST(GuestWalk, FourKiBLeaf) {
    Tables t{4};
    t.map(kernel_text, 0x1234'5000, 0);
    const Translation r = t.walk(kernel_text);
    ASSERT_TRUE(r) << int(r.fault);
    EXPECT_EQ(r.pa, 0x1234'5123u);
    EXPECT_EQ(r.level, 0);
}

TEST(GuestWalk, TwoMiBLeaf) {
    Tables t{4};
    t.map(direct_map, 0x4000'0000, 1);
    const Translation r = t.walk(direct_map);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.pa, 0x4000'0000u + (direct_map & 0x1f'ffff));
    EXPECT_EQ(r.level, 1);
}

TEST(GuestWalk, OneGiBLeaf) {
    Tables t{4};
    t.map(direct_map, 0x80'0000'0000ull, 2);
    const Translation r = t.walk(direct_map);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.pa, 0x80'0000'0000ull + (direct_map & 0x3fff'ffff));
    EXPECT_EQ(r.level, 2);
}

// The PAT bit of a large leaf (bit 12) is not part of its address.
TEST(GuestWalk, LargeLeafPatBitIsNotAddress) {
    Tables t{4};
    t.map(direct_map, 0x4000'0000 | (1u << 12), 1);
    const Translation r = t.walk(direct_map);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.pa, 0x4000'0000u + (direct_map & 0x1f'ffff));
}

TEST(GuestWalk, FiveLevelsEveryLeafSize) {
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
        Tables t{5};
        const std::uint64_t frame = 0x40'0000'0000ull;
        t.map(la57_addr, frame, leaf);
        const Translation r = t.walk(la57_addr);
        ASSERT_TRUE(r) << leaf;
        const std::uint64_t offset = (1ull << (12 + 9 * leaf)) - 1;
        EXPECT_EQ(r.pa, frame | (la57_addr & offset));
        EXPECT_EQ(r.level, leaf);
    }
}

// The same tables give a different answer with 4 levels: the PML5 index is ignored
// and the address is not canonical there.
TEST(GuestWalk, CanonicalAddresses) {
    Tables four{4};
    EXPECT_EQ(four.walk(0x0000'8000'0000'0000ull).fault, WalkFault::non_canonical);
    EXPECT_EQ(four.walk(0xffff'7fff'ffff'ffffull).fault, WalkFault::non_canonical);
    EXPECT_EQ(four.walk(la57_addr).fault, WalkFault::non_canonical);
    EXPECT_EQ(four.walk(0x0000'7fff'ffff'f000ull).fault, WalkFault::not_present);
    EXPECT_EQ(four.walk(0xffff'8000'0000'0000ull).fault, WalkFault::not_present);

    Tables five{5};
    EXPECT_EQ(five.walk(0x0100'0000'0000'0000ull).fault, WalkFault::non_canonical);
    EXPECT_EQ(five.walk(0xfeff'ffff'ffff'ffffull).fault, WalkFault::non_canonical);
    EXPECT_EQ(five.walk(0x0000'8000'0000'0000ull).fault, WalkFault::not_present);
    EXPECT_EQ(five.walk(la57_addr).fault, WalkFault::not_present);
    EXPECT_EQ(four.mem.reads + five.mem.reads, 4u); // one root entry per not-present walk
}

TEST(GuestWalk, NotPresentAtEachLevel) {
    for (unsigned levels : {4u, 5u}) {
        const std::uint64_t linear = levels == 5 ? la57_addr : kernel_text;
        for (unsigned level = 0; level < levels; ++level) {
            SCOPED_TRACE(testing::Message() << levels << " levels, entry at " << level);
            Tables t{levels};
            t.map(linear, 0x1234'5000, 0);
            t.mem.words[t.slot(linear, level)] &= ~P;
            const Translation r = t.walk(linear);
            EXPECT_EQ(r.fault, WalkFault::not_present);
            EXPECT_EQ(r.level, level);
        }
    }
}

TEST(GuestWalk, AddressBitsAboveMaxPhyAddrAreReserved) {
    for (unsigned level = 0; level < 4; ++level) {
        SCOPED_TRACE(level);
        Tables t{4};
        t.map(kernel_text, 0x1234'5000, 0);
        t.mem.words[t.slot(kernel_text, level)] |= 1ull << 46;
        EXPECT_EQ(t.walk(kernel_text, 46).fault, WalkFault::reserved);
        EXPECT_EQ(t.walk(kernel_text, 46).level, level);
        // With 47 physical bits the same entry holds a legal (if absent) address.
        EXPECT_NE(t.walk(kernel_text, 47).fault, WalkFault::reserved);
    }
    Tables t{4};
    t.map(kernel_text, 0x1234'5000, 0);
    t.mem.words[t.slot(kernel_text, 0)] |= 1ull << 51;
    EXPECT_EQ(t.walk(kernel_text, 51).fault, WalkFault::reserved);
    // Bits 62:52 are available to software (and protection keys) in every entry.
    t.mem.words[t.slot(kernel_text, 0)] &= ~(1ull << 51);
    t.mem.words[t.slot(kernel_text, 0)] |= 0x7ffull << 52;
    ASSERT_TRUE(t.walk(kernel_text));
    EXPECT_EQ(t.walk(kernel_text).pa, 0x1234'5123u);
}

TEST(GuestWalk, NxIsReservedWithoutNxe) {
    Tables t{4};
    t.map(kernel_text, 0x1234'5000, 0, P | NX);
    EXPECT_TRUE(t.walk(kernel_text)); // no permission checks: NX is not this walk's business
    HostPaging p = t.paging();
    p.efer &= ~efer_nxe;
    const Translation r = translate(p, kernel_text, t.mem);
    EXPECT_EQ(r.fault, WalkFault::reserved);
    EXPECT_EQ(r.level, 0);
}

TEST(GuestWalk, PageSizeIsReservedInPml4eAndPml5e) {
    for (unsigned levels : {4u, 5u}) {
        for (unsigned level = 3; level < levels; ++level) {
            SCOPED_TRACE(testing::Message() << levels << " levels, entry at " << level);
            Tables t{levels};
            const std::uint64_t linear = levels == 5 ? la57_addr : kernel_text;
            t.map(linear, 0x1234'5000, 0);
            t.mem.words[t.slot(linear, level)] |= PS;
            const Translation r = t.walk(linear);
            EXPECT_EQ(r.fault, WalkFault::reserved);
            EXPECT_EQ(r.level, level);
        }
    }
}

TEST(GuestWalk, LargeLeafAlignmentBitsAreReserved) {
    struct Row {
        unsigned leaf;
        unsigned bit;
        bool reserved;
    };
    for (const Row row : {Row{1, 13, true}, Row{1, 20, true}, Row{1, 21, false},
                          Row{2, 13, true}, Row{2, 29, true}, Row{2, 30, false}}) {
        SCOPED_TRACE(testing::Message() << "leaf " << row.leaf << " bit " << row.bit);
        Tables t{4};
        t.map(direct_map, 0x80'0000'0000ull, row.leaf);
        t.mem.words[t.slot(direct_map, row.leaf)] |= 1ull << row.bit;
        const Translation r = t.walk(direct_map);
        EXPECT_EQ(r.fault == WalkFault::reserved, row.reserved);
        const std::uint64_t offset = (1ull << (12 + 9 * row.leaf)) - 1;
        if (!row.reserved) {
            EXPECT_EQ(r.pa, (0x80'0000'0000ull | 1ull << row.bit) | (direct_map & offset));
        }
    }
}

TEST(GuestWalk, Cr3) {
    Tables t{4};
    t.map(kernel_text, 0x1234'5000, 0);
    HostPaging p = t.paging();
    p.cr3 = t.root | 0x7ff;            // a PCID
    EXPECT_TRUE(translate(p, kernel_text, t.mem));
    p.cr3 = t.root | 3ull << 61;       // Intel LAM enables: not an address
    EXPECT_TRUE(translate(p, kernel_text, t.mem));
    p.cr3 = t.root | 1ull << 46;
    const Translation r = translate(p, kernel_text, t.mem);
    EXPECT_EQ(r.fault, WalkFault::reserved);
    EXPECT_EQ(r.level, walk_level_cr3);
}

TEST(GuestWalk, ReaderRefusalAtEachLevel) {
    for (unsigned level = 0; level < 4; ++level) {
        SCOPED_TRACE(level);
        Tables t{4};
        t.map(kernel_text, 0x1234'5000, 0);
        t.mem.frames.erase(t.slot(kernel_text, level) >> 12);
        const Translation r = t.walk(kernel_text);
        EXPECT_EQ(r.fault, WalkFault::refused);
        EXPECT_EQ(r.level, level);
    }
}

TEST(GuestWalk, PagingOffIsIdentityIn32Bits) {
    FakePhys mem;
    HostPaging p; // CR0.PG = 0, as at a SIPI vector
    const Translation r = translate(p, 0x1'0000'1234ull, mem);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.pa, 0x1234u);
    EXPECT_EQ(mem.reads, 0u);
}

TEST(GuestWalk, LegacyAndPaePagingAreUnsupported) {
    Tables t{4};
    t.map(kernel_text, 0x1234'5000, 0);
    HostPaging p = t.paging();
    p.efer &= ~efer_lma;                  // PAE, not long mode
    EXPECT_EQ(translate(p, 0x1000, t.mem).fault, WalkFault::unsupported);
    p.cr4 &= ~cr4_pae;                    // 32-bit legacy paging
    EXPECT_EQ(translate(p, 0x1000, t.mem).fault, WalkFault::unsupported);
    p = t.paging(53);
    EXPECT_EQ(translate(p, kernel_text, t.mem).fault, WalkFault::unsupported);
    p = t.paging(31);
    EXPECT_EQ(translate(p, kernel_text, t.mem).fault, WalkFault::unsupported);
    EXPECT_EQ(t.mem.reads, 0u);
}

// An 11-byte store (movl $0x4500, 0x300(%rbx,%rcx,4)) split at every offset over two
// pages whose frames are not adjacent: fetch joins it; without the second page it
// gets the first page's bytes only and the decoder says truncated.
TEST(GuestFetch, AcrossAPageBoundary) {
    const std::vector<std::uint8_t> insn = {0xc7, 0x84, 0x8b, 0x00, 0x03, 0x00, 0x00,
                                            0x00, 0x45, 0x00, 0x00};
    constexpr std::uint64_t page = 0xffff'ffff'8100'0000ull;
    for (std::size_t split = 1; split < insn.size(); ++split) {
        SCOPED_TRACE(split);
        Tables t{4};
        t.map(page, 0x20'0000, 0);
        t.map(page + 0x1000, 0x7000'0000, 0);
        const std::uint64_t rip = page + 0x1000 - split;
        t.mem.write_bytes(0x20'1000 - split, {insn.begin(), insn.begin() + long(split)});
        t.mem.write_bytes(0x7000'0000, {insn.begin() + long(split), insn.end()});

        std::uint8_t buf[max_insn_bytes] = {};
        ASSERT_EQ(fetch(t.paging(), rip, 0, buf, sizeof buf, t.mem), max_insn_bytes);
        EXPECT_TRUE(std::equal(insn.begin(), insn.end(), buf));
        const MmioStore s = decode_mmio_store(buf, max_insn_bytes, true);
        ASSERT_TRUE(s);
        EXPECT_EQ(s.len, insn.size());
        EXPECT_EQ(s.imm32, 0x4500u);

        t.mem.words[t.slot(page + 0x1000, 0)] &= ~P;
        std::uint8_t cut[max_insn_bytes] = {};
        const std::size_t got = fetch(t.paging(), rip, 0, cut, sizeof cut, t.mem);
        EXPECT_EQ(got, split);
        EXPECT_TRUE(std::equal(insn.begin(), insn.begin() + long(split), cut));
        EXPECT_EQ(decode_mmio_store(cut, got, true).fault, DecodeFault::truncated);
    }
}

TEST(GuestFetch, CountsAndBases) {
    Tables t{4};
    t.map(kernel_text & ~0xfffull, 0x30'0000, 0);
    std::vector<std::uint8_t> bytes(32);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::uint8_t(0xa0 + i);
    t.mem.write_bytes(0x30'0000 + (kernel_text & 0xfff) - 8, bytes);

    std::uint8_t buf[32] = {};
    EXPECT_EQ(fetch(t.paging(), kernel_text, 0, buf, 32, t.mem), max_insn_bytes); // capped
    EXPECT_EQ(buf[0], 0xa8);
    EXPECT_EQ(buf[14], 0xa8 + 14);
    EXPECT_EQ(buf[15], 0); // nothing past 15 written
    EXPECT_EQ(fetch(t.paging(), kernel_text, 0, buf, 3, t.mem), 3u);
    EXPECT_EQ(fetch(t.paging(), kernel_text, 0, buf, 0, t.mem), 0u);
    // The linear address is CS.base + RIP.
    EXPECT_EQ(fetch(t.paging(), kernel_text - 0x100, 0x104, buf, 2, t.mem), 2u);
    EXPECT_EQ(buf[0], 0xa8 + 4);
}

TEST(GuestFetch, RefusedInstructionBytes) {
    Tables t{4};
    t.map(kernel_text & ~0xfffull, 0x30'0000, 0); // frame never allowed: hypervisor memory
    std::uint8_t buf[max_insn_bytes] = {};
    EXPECT_EQ(fetch(t.paging(), kernel_text, 0, buf, sizeof buf, t.mem), 0u);
}

TEST(GuestFetch, PagingOffWrapsAt4GiB) {
    FakePhys mem;
    mem.write_bytes(0xffff'fffe, {0x89, 0x08});
    mem.write_bytes(0, {0x90});
    HostPaging p;
    std::uint8_t buf[3] = {};
    ASSERT_EQ(fetch(p, 0xffff'fffe, 0, buf, 3, mem), 3u);
    EXPECT_EQ(buf[0], 0x89);
    EXPECT_EQ(buf[1], 0x08);
    EXPECT_EQ(buf[2], 0x90);
}

} // namespace
} // namespace vbh
