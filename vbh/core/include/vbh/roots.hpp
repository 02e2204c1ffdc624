// RootTable: which protected domain each bound nested-page-table root belongs to
// (VBH_HC_DOMAIN_BIND_ROOT). A VMRUN whose VMCB12 N_CR3 is a bound root runs its L2 on a
// shadow NPT of that domain, the only shadows its private frames may enter
// (docs/nested.md, "Shadow NPT"). A fixed table in hypervisor memory: one word per
// binding, the root's address with the domain in its low 12 bits (a root is 4 KiB
// aligned), 0 when free. Writers hold the core's lock; lookup() runs without it at
// VMRUN and at each shadow fill: a word is read whole, and a slot is never moved, so a
// reader sees a binding either before or after a change (whose cross-CPU flush then
// drops what it built, core.hpp).
#pragma once

#include <vbh/frame_state.hpp>

#include <cstdint>

namespace vbh {

class RootTable {
public:
    static constexpr std::uint32_t capacity = 128;

    // The domain bound to root (an N_CR3's address bits), host_domain if none.
    DomainId lookup(std::uint64_t root) const {
        const std::uint32_t n = __atomic_load_n(&high_, __ATOMIC_ACQUIRE);
        for (std::uint32_t i = 0; i < n && i < capacity; ++i) {
            const std::uint64_t s = __atomic_load_n(&slots_[i], __ATOMIC_ACQUIRE);
            if (s != 0 && (s & ~dom_mask) == root)
                return DomainId{std::uint16_t(s & dom_mask)};
        }
        return host_domain;
    }
    bool full() const { return free_slot() == capacity; }

    // root is 4 KiB aligned and unbound, the table not full.
    void bind(std::uint64_t root, DomainId d) {
        const std::uint32_t i = free_slot();
        __atomic_store_n(&slots_[i], root | d.value, __ATOMIC_RELEASE);
        if (i >= high_)
            __atomic_store_n(&high_, i + 1, __ATOMIC_RELEASE);
    }
    void unbind(std::uint64_t root) {
        for (std::uint32_t i = 0; i < high_; ++i)
            if (slots_[i] != 0 && (slots_[i] & ~dom_mask) == root)
                __atomic_store_n(&slots_[i], 0, __ATOMIC_RELEASE);
    }
    // Every root of d; how many there were.
    std::uint32_t unbind_all(DomainId d) {
        std::uint32_t n = 0;
        for (std::uint32_t i = 0; i < high_; ++i)
            if (slots_[i] != 0 && (slots_[i] & dom_mask) == d.value) {
                __atomic_store_n(&slots_[i], 0, __ATOMIC_RELEASE);
                ++n;
            }
        return n;
    }
    bool operator==(const RootTable&) const = default;

private:
    static constexpr std::uint64_t dom_mask = 0xfff;
    static_assert(VBH_MAX_DOMAINS <= dom_mask + 1);

    std::uint32_t free_slot() const {
        for (std::uint32_t i = 0; i < capacity; ++i)
            if (slots_[i] == 0)
                return i;
        return capacity;
    }

    std::uint64_t slots_[capacity] = {};
    std::uint32_t high_ = 0; // slots at and above are free and never used
};

} // namespace vbh
