#include <vbh/hypercall.hpp>
#include <vbh/test_hooks.hpp>

namespace vbh {
namespace {

// Flags DOMAIN_CREATE accepts; any other bit is VBH_E_INVALID. VBH_DOMAIN_TEST only in a
// test-hooks build.
constexpr std::uint64_t domain_flags_known = test_hooks ? VBH_DOMAIN_TEST : 0;

Status check_frames(const FrameTable& frames, Transition t, FrameRange r, DomainId dom) {
    if (Status s = frames.check_ram(r); s != Status::ok)
        return s;
    return frames.check(t, r, dom);
}

Result<Op> decode_create(std::uint64_t flags, const DomainTable& domains) {
    if ((flags & ~domain_flags_known) != 0)
        return unexpected(Status::invalid);
    auto id = domains.free_slot();
    if (!id)
        return unexpected(id.error());
    return Op{Call::domain_create, *id, {}, flags, 0};
}

Result<Op> decode_destroy(std::uint64_t raw_dom, const DomainTable& domains) {
    auto dom = domains.lookup(raw_dom);
    if (!dom)
        return unexpected(dom.error());
    return Op{Call::domain_destroy, *dom, {}, 0, 0};
}

// share, unshare, donate, reclaim: arg0 = pfn, arg1 = count, arg2 = dom.
Result<Op> decode_transfer(Call call, Transition t, const HypercallRegs& r,
                           const FrameTable& frames, const DomainTable& domains) {
    auto range = make_range(r.rdi, r.rsi);
    if (!range)
        return unexpected(range.error());
    auto dom = domains.lookup(r.rdx);
    if (!dom)
        return unexpected(dom.error());
    if (Status s = check_frames(frames, t, *range, *dom); s != Status::ok)
        return unexpected(s);
    return Op{call, *dom, *range, 0, 0};
}

Result<Op> decode_hyp_donate(const HypercallRegs& r, const FrameTable& frames) {
    auto range = make_range(r.rdi, r.rsi);
    if (!range)
        return unexpected(range.error());
    if (Status s = check_frames(frames, Transition::hyp_donate, *range, host_domain); s != Status::ok)
        return unexpected(s);
    return Op{Call::hyp_donate, host_domain, *range, 0, 0};
}

// test_fill, test_hash: arg0 = dom, arg1 = pfn, arg2 = count, arg3 = seed. Only in a
// test-hooks build; the product does not know these numbers (vbh/test_hooks.hpp).
Result<Op> decode_test(Call call, const HypercallRegs& r, const FrameTable& frames,
                       const DomainTable& domains) {
    if constexpr (!test_hooks)
        return unexpected(Status::unknown_call);
    auto range = make_range(r.rsi, r.rdx);
    if (!range)
        return unexpected(range.error());
    auto dom = domains.lookup(r.rdi);
    if (!dom)
        return unexpected(dom.error());
    if ((domains[*dom].flags & VBH_DOMAIN_TEST) == 0)
        return unexpected(Status::denied);
    if (Status s = check_frames(frames, Transition::test_access, *range, *dom); s != Status::ok)
        return unexpected(s);
    return Op{call, *dom, *range, call == Call::test_fill ? r.rcx : 0, 0};
}

// arg0 = list address, arg1 = entries, arg2 = dom. The array must sit in one frame
// the host may read anyway (host-owned or shared): passing a hypervisor or private
// frame would make the hypervisor read it on the host's behalf (docs/threats.md #2).
Result<Op> decode_donate_list(const HypercallRegs& r, const FrameTable& frames,
                              const DomainTable& domains) {
    constexpr std::uint64_t entry = sizeof(vbh_frame_range);
    if (r.rsi == 0 || r.rsi > VBH_MAX_LIST_ENTRIES || r.rdi % entry != 0)
        return unexpected(Status::invalid);
    if ((r.rdi & (frame_bytes - 1)) + r.rsi * entry > frame_bytes)
        return unexpected(Status::invalid);
    auto dom = domains.lookup(r.rdx);
    if (!dom)
        return unexpected(dom.error());
    FrameRange list{Pfn{r.rdi >> frame_shift}, 1};
    if (Status s = frames.check_ram(list); s != Status::ok)
        return unexpected(s);
    if (!frames.at(list.first).host_mapped())
        return unexpected(Status::state);
    return Op{Call::donate_list, *dom, list, r.rdi, std::uint32_t(r.rsi)};
}

} // namespace

Result<Op> decode(const HypercallRegs& r, Cpl cpl, const FrameTable& frames,
                  const DomainTable& domains, const Guests& guests) {
    if (cpl.level != 0)
        return unexpected(Status::denied);
    switch (r.rax) {
    case VBH_HC_VERSION: return Op{Call::version, host_domain, {}, 0, 0};
    case VBH_HC_DOMAIN_CREATE: return decode_create(r.rdi, domains);
    case VBH_HC_DOMAIN_DESTROY: return decode_destroy(r.rdi, domains);
    case VBH_HC_HOST_SHARE: return decode_transfer(Call::share, Transition::share, r, frames, domains);
    case VBH_HC_HOST_UNSHARE: return decode_transfer(Call::unshare, Transition::unshare, r, frames, domains);
    case VBH_HC_HOST_DONATE: return decode_transfer(Call::donate, Transition::donate, r, frames, domains);
    case VBH_HC_HOST_RECLAIM: return decode_transfer(Call::reclaim, Transition::reclaim, r, frames, domains);
    case VBH_HC_HYP_DONATE: return decode_hyp_donate(r, frames);
    case VBH_HC_HOST_DONATE_LIST: return decode_donate_list(r, frames, domains);
    case VBH_HC_TEST_FILL: return decode_test(Call::test_fill, r, frames, domains);
    case VBH_HC_TEST_HASH: return decode_test(Call::test_hash, r, frames, domains);
    case VBH_HC_DOMAIN_BIND_ROOT:
    case VBH_HC_DOMAIN_UNBIND_ROOT:
    case VBH_HC_GUEST_DONATE:
    case VBH_HC_GUEST_RECLAIM: return decode_guest(r, frames, domains, guests);
    }
    return unexpected(Status::unknown_call);
}

Result<void> decode_list(const vbh_frame_range* copied, std::uint32_t entries, DomainId dom,
                         const FrameTable& frames, RangeList& out) {
    out.count = 0;
    for (std::uint32_t i = 0; i < entries; ++i) {
        auto range = make_range(copied[i].pfn, copied[i].count);
        if (!range)
            return unexpected(range.error());
        if (Status s = frames.check_ram(*range); s != Status::ok)
            return unexpected(s);
        for (std::uint32_t k = 0; k < out.count; ++k)
            if (out.ranges[k].overlaps(*range))
                return unexpected(Status::invalid);
        out.ranges[out.count++] = *range;
    }
    for (std::uint32_t i = 0; i < out.count; ++i)
        if (Status s = frames.check(Transition::donate, out.ranges[i], dom); s != Status::ok)
            return unexpected(s);
    return {};
}

} // namespace vbh
