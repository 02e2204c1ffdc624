// The shadow NPT's non-template parts (shadow_npt.hpp): the reserved-bit rules of KVM's
// entries and the shadow tables vbh builds in its own pool.
#include <vbh/svm/shadow_npt.hpp>

#include <cstring>

namespace vbh::svm {

namespace {

constexpr std::uint64_t bits(int hi, int lo) { return ((~0ull) >> (63 - hi)) & ~((1ull << lo) - 1); }

// Shadow entries: tables get every right (the leaf alone decides, §5.6.1: the rights
// along a walk are the intersection); leaves are user pages, A and D preset so that the
// CPU never writes vbh's tables. Memory type index 0 (PWT = PCD = PAT = 0): KVM on AMD
// writes no memory type into its NPT either, so its leaves are index 0 too.
constexpr std::uint64_t table_rights = npte::p | npte::rw | npte::us;
constexpr std::uint64_t shadow_addr = bits(51, 12);

constexpr unsigned index_at(std::uint64_t gpa, int level) {
    return unsigned((gpa >> (12 + 9 * (level - 1))) & 511);
}

} // namespace

std::uint64_t npte_reserved(std::uint64_t e, int level, const NptWalkCaps& caps) {
    std::uint64_t r = bits(51, caps.phys_bits);
    if (!caps.nxe)
        r |= npte::nx;
    if (level == 4)
        r |= bits(8, 7);
    else if (level == 3 && (e & npte::ps))
        r |= caps.gbpages ? bits(29, 13) : npte::ps;
    else if (level == 2 && (e & npte::ps))
        r |= bits(20, 13);
    return e & r;
}

void ShadowNpt::init(std::uint64_t* pages, std::uint64_t pa, std::uint32_t count, bool nxe) {
    std::memset(pages, 0, std::size_t(count) * 4096);
    pages_ = pages;
    nxe_ = nxe;
    pa_ = pa;
    count_ = count;
    used_ = 1;
    key_ = {};
    flush_ = false;
}

void ShadowNpt::reset(const Key& key) {
    std::memset(pages_, 0, std::size_t(used_) * 4096);
    used_ = 1;
    key_ = key;
    flush_ = true;
}

std::uint64_t* ShadowNpt::table(std::uint64_t entry) const {
    return pages_ + ((entry & shadow_addr) - pa_) / 8;
}

bool ShadowNpt::install(std::uint64_t gpa, std::uint64_t frame, std::uint8_t p) {
    // Count the tables still missing on the way down first: either the pool holds
    // all of them or nothing changes.
    std::uint32_t missing = 0;
    const std::uint64_t* t = pages_;
    for (int level = 4; level > 1; --level) {
        const std::uint64_t e = t[index_at(gpa, level)];
        if (!(e & npte::p)) {
            missing = std::uint32_t(level - 1);
            break;
        }
        t = table(e);
    }
    if (used_ + missing > count_)
        return false;
    std::uint64_t* at = pages_;
    for (int level = 4; level > 1; --level) {
        std::uint64_t& e = at[index_at(gpa, level)];
        if (!(e & npte::p))
            e = (pa_ + std::uint64_t(used_++) * 4096) | table_rights; // zeroed by reset()
        at = table(e);
    }
    std::uint64_t leaf = (frame & shadow_addr) | npte::p | npte::us | npte::a | npte::d;
    if (p & perm::w)
        leaf |= npte::rw;
    if (!(p & perm::x) && nxe_)
        leaf |= npte::nx;
    std::uint64_t& e = at[index_at(gpa, 1)];
    if ((e & npte::p) && e != leaf)
        flush_ = true; // the CPU may cache the old translation (§15.16)
    e = leaf;
    return true;
}

std::uint64_t ShadowNpt::lookup(std::uint64_t gpa) const {
    const std::uint64_t* t = pages_;
    for (int level = 4; level > 1; --level) {
        const std::uint64_t e = t[index_at(gpa, level)];
        if (!(e & npte::p))
            return 0;
        t = table(e);
    }
    return t[index_at(gpa, 1)];
}

} // namespace vbh::svm
