// Decode of the protected-guest calls (docs/hypercalls.md, "Protected guests"). Checks
// in the order of every other call: the arguments' form, the domain, the frames, then
// the records of bindings and gfns. Pool room (gfn records, host table) is the
// reservation's (core.hpp), after decode.
#include <vbh/hypercall.hpp>

namespace vbh {
namespace {

// arg0 = dom, arg1 = root: 4 KiB aligned, RAM, owned by the host (KVM's table page),
// bound to no domain, and room for one more binding.
Result<Op> decode_bind(const HypercallRegs& r, const FrameTable& frames,
                       const DomainTable& domains, const RootTable& roots) {
    if ((r.rsi & (frame_bytes - 1)) != 0)
        return unexpected(Status::invalid);
    auto dom = domains.lookup(r.rdi);
    if (!dom)
        return unexpected(dom.error());
    const FrameRange root{Pfn{r.rsi >> frame_shift}, 1};
    if (Status s = frames.check_ram(root); s != Status::ok)
        return unexpected(s);
    if (frames.at(root.first).owner() != Owner::host || roots.lookup(r.rsi) != host_domain)
        return unexpected(Status::state);
    if (roots.full())
        return unexpected(Status::no_memory);
    return Op{Call::bind_root, *dom, root, r.rsi, 0};
}

// arg0 = dom, arg1 = a root bound to dom.
Result<Op> decode_unbind(const HypercallRegs& r, const DomainTable& domains, const RootTable& roots) {
    auto dom = domains.lookup(r.rdi);
    if (!dom)
        return unexpected(dom.error());
    if ((r.rsi & (frame_bytes - 1)) != 0 || roots.lookup(r.rsi) != *dom)
        return unexpected(Status::state);
    return Op{Call::unbind_root, *dom, {}, r.rsi, 0};
}

// arg0 = pfn, arg1 = count, arg2 = dom, arg3 = gfn. The gfns must fit the 48-bit
// guest-physical space a 4-level nested table maps (GfnMap::key_limit): beyond it is
// an overflow, as a wrap is.
Result<Op> decode_guest_donate(const HypercallRegs& r, const FrameTable& frames,
                               const DomainTable& domains, const GfnMap& gfns) {
    auto range = make_range(r.rdi, r.rsi);
    if (!range)
        return unexpected(range.error());
    if (r.rcx + r.rsi < r.rcx || r.rcx + r.rsi > GfnMap::key_limit)
        return unexpected(Status::overflow);
    auto dom = domains.lookup(r.rdx);
    if (!dom)
        return unexpected(dom.error());
    if (Status s = frames.check_ram(*range); s != Status::ok)
        return unexpected(s);
    if (range->end() > GfnMap::key_limit)
        return unexpected(Status::range);
    if (Status s = frames.check(Transition::guest_donate, *range, *dom); s != Status::ok)
        return unexpected(s);
    if (gfns.any_gfn(*dom, r.rcx, range->count))
        return unexpected(Status::state);
    return Op{Call::guest_donate, *dom, *range, r.rcx, 0};
}

// arg0 = pfn, arg1 = count: every frame private memory of some domain.
Result<Op> decode_guest_reclaim(const HypercallRegs& r, const FrameTable& frames) {
    auto range = make_range(r.rdi, r.rsi);
    if (!range)
        return unexpected(range.error());
    if (Status s = frames.check_ram(*range); s != Status::ok)
        return unexpected(s);
    if (Status s = frames.check(Transition::guest_reclaim, *range, host_domain); s != Status::ok)
        return unexpected(s);
    return Op{Call::guest_reclaim, host_domain, *range, 0, 0};
}

} // namespace

Result<Op> decode_guest(const HypercallRegs& r, const FrameTable& frames,
                        const DomainTable& domains, const Guests& guests) {
    switch (r.rax) {
    case VBH_HC_DOMAIN_BIND_ROOT: return decode_bind(r, frames, domains, guests.roots);
    case VBH_HC_DOMAIN_UNBIND_ROOT: return decode_unbind(r, domains, guests.roots);
    case VBH_HC_GUEST_DONATE: return decode_guest_donate(r, frames, domains, guests.gfns);
    case VBH_HC_GUEST_RECLAIM: return decode_guest_reclaim(r, frames);
    }
    return unexpected(Status::unknown_call);
}

} // namespace vbh
