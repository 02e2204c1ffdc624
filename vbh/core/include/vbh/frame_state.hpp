// The ownership state of one 4 KiB frame and the transitions between states.
//
// Modelled on pKVM's page states (arch/arm64/kvm/hyp/nvhe/mem_protect.c): every frame
// of RAM has exactly one owner; the host may lend (share) a frame it owns to one domain
// and keeps access, or give it away (donate), after which its nested page table no
// longer maps the frame. The states and the transition table are spelled out in
// docs/hypercalls.md, "Frame ownership".
#pragma once

#include <vbh/field.hpp>
#include <vbh/status.hpp>

#include <cstdint>

namespace vbh {

struct DomainId {
    std::uint16_t value;
    constexpr bool operator==(const DomainId&) const = default;
};

inline constexpr DomainId host_domain{VBH_HOST_DOMAIN};

enum class Owner : std::uint16_t {
    none = 0,   // not RAM: hole, MMIO, beyond the end of RAM; never transferable
    host = 1,   // owned by the host, mapped in its nested page table
    hyp = 2,    // hypervisor memory, absent from the host table
    domain = 3, // private to a protected domain, absent from the host table
    shared = 4, // owned by the host (still mapped), lent to one domain
    guest = 5,  // private memory of a protected domain at one gfn (GUEST_DONATE): absent
                // from the host table, admitted only into that domain's shadow NPTs
};

// 16 bits of metadata per frame: [15:12] owner, [11:0] the domain (domain, shared).
class FrameMeta {
public:
    using OwnerBits = Field<15, 12, std::uint16_t>;
    using DomainBits = Field<11, 0, std::uint16_t>;

    constexpr FrameMeta() = default;
    constexpr FrameMeta(Owner o, DomainId d = host_domain)
        : raw_{DomainBits::set(OwnerBits::set(0, std::uint16_t(o)), d.value)} {}
    static constexpr FrameMeta from_raw(std::uint16_t raw) { FrameMeta m; m.raw_ = raw; return m; }

    constexpr Owner owner() const { return Owner(OwnerBits::get(raw_)); }
    constexpr DomainId domain() const { return DomainId{DomainBits::get(raw_)}; }
    constexpr std::uint16_t raw() const { return raw_; }
    constexpr bool host_mapped() const { return owner() == Owner::host || owner() == Owner::shared; }
    constexpr bool operator==(const FrameMeta&) const = default;

private:
    std::uint16_t raw_ = 0;
};

static_assert(sizeof(FrameMeta) == 2);
static_assert(VBH_MAX_DOMAINS <= FrameMeta::DomainBits::max + 1);

// One step of the state machine, applied to every frame of a range on behalf of `dom`.
enum class Transition : std::uint8_t {
    share,       // host -> shared(dom)
    unshare,     // shared(dom) -> host
    donate,      // host -> domain(dom); unmapped from the host
    reclaim,     // domain(dom) -> host; scrubbed, then mapped for the host again
    hyp_donate,  // host -> hyp; unmapped from the host, never returned
    test_access, // domain(dom) -> domain(dom): TEST_FILL / TEST_HASH may touch it
    destroy,     // domain(dom), guest(dom) -> host (scrubbed); shared(dom) -> host;
                 // others kept
    guest_donate,  // host -> guest(dom); unmapped from the host
    guest_reclaim, // guest(any domain) -> host; scrubbed, then mapped for the host
};

// What the host's nested page table must do when a frame takes this transition.
enum class HostEffect : std::uint8_t { none, unmap, map };

// Is `from` a state that `t` on behalf of `dom` accepts? Owner::none never is: the
// caller reports Status::range for holes before asking.
constexpr bool accepts(Transition t, FrameMeta from, DomainId dom) {
    switch (t) {
    case Transition::share:
    case Transition::donate:
    case Transition::hyp_donate:
    case Transition::guest_donate: return from.owner() == Owner::host;
    case Transition::guest_reclaim: return from.owner() == Owner::guest;
    case Transition::unshare: return from == FrameMeta{Owner::shared, dom};
    case Transition::reclaim:
    case Transition::test_access: return from == FrameMeta{Owner::domain, dom};
    case Transition::destroy: return from.owner() != Owner::none;
    }
    return false;
}

// The state after `t`; only meaningful where accepts() holds.
constexpr FrameMeta after(Transition t, FrameMeta from, DomainId dom) {
    switch (t) {
    case Transition::share: return {Owner::shared, dom};
    case Transition::donate: return {Owner::domain, dom};
    case Transition::hyp_donate: return {Owner::hyp};
    case Transition::guest_donate: return {Owner::guest, dom};
    case Transition::unshare:
    case Transition::reclaim:
    case Transition::guest_reclaim: return {Owner::host};
    case Transition::test_access: return from;
    case Transition::destroy:
        if (from == FrameMeta{Owner::domain, dom} || from == FrameMeta{Owner::shared, dom} ||
            from == FrameMeta{Owner::guest, dom})
            return {Owner::host};
        return from;
    }
    return from;
}

constexpr HostEffect host_effect(FrameMeta from, FrameMeta to) {
    if (from.host_mapped() == to.host_mapped())
        return HostEffect::none;
    return to.host_mapped() ? HostEffect::map : HostEffect::unmap;
}

// A frame leaving a domain for the host is zeroed before the host can map it.
constexpr bool needs_scrub(FrameMeta from, FrameMeta to) {
    return (from.owner() == Owner::domain || from.owner() == Owner::guest) && to.host_mapped();
}

} // namespace vbh
