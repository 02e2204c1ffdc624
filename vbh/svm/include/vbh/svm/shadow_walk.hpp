// The templates of shadow_npt.hpp: KVM's nested walk over a ShadowEnv, and the fault
// step that turns it into a shadow entry. Included from shadow_npt.hpp only.
#pragma once

#include <vbh/svm/shadow_npt.hpp>

namespace vbh::svm {

// Bits 51:12 below MAXPHYADDR: where a table or page address sits in an entry.
constexpr std::uint64_t npt_addr_mask(const NptWalkCaps& caps) {
    return ((1ull << caps.phys_bits) - 1) & ~0xfffull;
}

// The bytes one entry covers at a level: 4 KiB, 2 MiB, 1 GiB, 512 GiB.
constexpr std::uint64_t npt_level_bytes(int level) { return 1ull << (12 + 9 * (level - 1)); }

template <ShadowEnv E>
NptWalkResult walk_kvm_npt(E& env, std::uint64_t ncr3, std::uint64_t gpa, const NptAccess& acc,
                           const NptWalkCaps& caps) {
    const std::uint64_t addr = npt_addr_mask(caps);
    std::uint64_t table = ncr3 & addr;
    std::uint64_t at[4], seen[4];
    bool write = true, user = true, exec = true;
    int n = 0;
    for (int level = 4;; --level, ++n) {
        at[n] = table + ((gpa / npt_level_bytes(level)) % 512) * 8;
        const EntryRead r = env.read_entry(at[n]);
        if (!r.ok)
            return {NptWalk::table_fault, 0, 0, 0, table};
        const std::uint64_t e = seen[n] = r.value;
        if (!(e & npte::p))
            return {NptWalk::fault, npt_fault_code(acc, false, false, caps), 0, 0, 0};
        if (npte_reserved(e, level, caps))
            return {NptWalk::fault, npt_fault_code(acc, false, true, caps), 0, 0, 0};
        write &= (e & npte::rw) != 0;
        user &= (e & npte::us) != 0;
        exec &= !(caps.nxe && (e & npte::nx));
        if (level == 1 || (e & npte::ps)) {
            // A large leaf: the 4 KiB page of gpa inside it (bits above the level
            // from the entry, the rest from gpa).
            const std::uint64_t size = npt_level_bytes(level);
            table = (e & addr & ~(size - 1)) | (gpa & (size - 1) & ~0xfffull);
            break;
        }
        table = e & addr;
    }
    if (!user || (acc.write && !write) || (acc.fetch && !exec))
        return {NptWalk::fault, npt_fault_code(acc, true, false, caps), 0, 0, 0};
    // The CPU sets A in every entry it used and D in the leaf of a write (§5.4.2),
    // atomically; KVM's page aging reads A. An entry KVM changed meanwhile is not
    // touched: the L2 faults again and the walk sees the new entry.
    for (int i = 0; i <= n; ++i) {
        const std::uint64_t want = seen[i] | npte::a | (i == n && acc.write ? npte::d : 0);
        if (want != seen[i] && !env.update_entry(at[i], seen[i], want))
            return {NptWalk::raced, 0, 0, 0, 0};
        seen[i] = want;
    }
    // Writable only once dirty, so that the first write of a clean page faults and
    // sets D, as the CPU's walk would.
    const bool dirty = (seen[n] & npte::d) != 0;
    const std::uint8_t p = perm::r | (write && dirty ? perm::w : 0) | (exec ? perm::x : 0);
    return {NptWalk::ok, 0, table, p, 0};
}

template <ShadowEnv E>
ShadowFaultResult shadow_npf(E& env, ShadowNpt& s, std::uint64_t ncr3, std::uint64_t exit_info1,
                             std::uint64_t exit_info2, const NptWalkCaps& caps) {
    const NptAccess acc = npt_access(exit_info1);
    const NptWalkResult w = walk_kvm_npt(env, ncr3, exit_info2, acc, caps);
    switch (w.how) {
    case NptWalk::raced: return {ShadowFault::retry, 0, 0};
    case NptWalk::table_fault: return {ShadowFault::refused, 0, w.table_pa};
    case NptWalk::fault:
        // As KVM's nested NPF: the hardware's bits 63:32 (final translation or
        // table access) kept, the error code the host's own walk produced.
        return {ShadowFault::reflect, (exit_info1 & ~0xffffffffull) | w.error, 0};
    case NptWalk::ok: break;
    }
    const std::uint8_t own = env.frame_perm(w.frame, exit_info2 >> 12, s.key().dom);
    const std::uint8_t p = w.perm & own;
    if (!(own & perm::r) || (acc.write && !(p & perm::w)) || (acc.fetch && !(p & perm::x)))
        return {ShadowFault::refused, 0, w.frame};
    if (!s.install(exit_info2, w.frame, p)) {
        // Pool full: drop everything and start again from this page, which fits in an
        // empty pool (root plus three tables).
        s.reset(s.key());
        (void)s.install(exit_info2, w.frame, p);
    }
    return {ShadowFault::mapped, 0, 0};
}

} // namespace vbh::svm
