// libFuzzer target: decode() alone on arbitrary registers and CPL against a fixed
// ownership state. Whatever it accepts must be well formed: ring 0, a known call, a
// range inside RAM that does not wrap, a live domain, frames in the state the call
// needs. Nothing is performed, so this runs far faster than fuzz_hypercalls.
#include "byte_reader.hpp"

#include <vbh/core_config.hpp>
#include <vbh/hypercall.hpp>

#include <cstdlib>
#include <vector>

namespace {

using namespace vbh;

struct World {
    std::vector<std::uint16_t> meta = std::vector<std::uint16_t>(4096);
    FrameTable frames;
    DomainTable domains;
    Guests guests; // no gfn pool: every gfn is free

    World() {
        static const vbh_mem_range ram[] = {{0, 4u << 20}, {6u << 20, 10u << 20}};
        static const vbh_mem_range hyp[] = {{1u << 20, 64u << 10}};
        CoreConfig cfg{meta.data(), meta.size() * 2, ram, 2, hyp, 1};
        if (!init_frame_table(frames, cfg))
            std::abort();
        domains.create(DomainId{1}, VBH_DOMAIN_TEST);
        domains.create(DomainId{2}, 0);
        frames.apply(Transition::donate, {Pfn{2000}, 64}, DomainId{1});
        frames.apply(Transition::donate, {Pfn{2100}, 64}, DomainId{2});
        frames.apply(Transition::share, {Pfn{3000}, 16}, DomainId{1});
        frames.apply(Transition::guest_donate, {Pfn{2200}, 32}, DomainId{1});
        frames.apply(Transition::guest_donate, {Pfn{2232}, 32}, DomainId{2});
        guests.roots.bind(10 * 4096, DomainId{1});
        guests.roots.bind(11 * 4096, DomainId{2});
    }
};

Transition needed(Call c) {
    switch (c) {
    case Call::share: return Transition::share;
    case Call::unshare: return Transition::unshare;
    case Call::reclaim: return Transition::reclaim;
    case Call::hyp_donate: return Transition::hyp_donate;
    case Call::test_fill:
    case Call::test_hash: return Transition::test_access;
    case Call::guest_donate: return Transition::guest_donate;
    case Call::guest_reclaim: return Transition::guest_reclaim;
    default: return Transition::donate;
    }
}

void check_accepted(const World& w, const Op& op, Cpl cpl) {
    if (cpl.level != 0)
        std::abort();
    if (op.call == Call::version || op.call == Call::domain_create || op.call == Call::domain_destroy)
        return;
    if (op.call == Call::unbind_root) {
        if (!w.domains[op.dom].live || w.guests.roots.lookup(op.arg) != op.dom)
            std::abort();
        return;
    }
    if (op.call == Call::bind_root &&
        (op.arg % 4096 != 0 || op.range != FrameRange{Pfn{op.arg >> 12}, 1} ||
         w.frames.at(op.range.first).owner() != Owner::host ||
         w.guests.roots.lookup(op.arg) != host_domain))
        std::abort();
    if (op.call == Call::guest_donate && op.arg + op.range.count > GfnMap::key_limit)
        std::abort();
    if (op.range.count == 0 || op.range.end() < op.range.first.value)
        std::abort();
    if (w.frames.check_ram(op.range) != Status::ok)
        std::abort();
    if (op.call == Call::donate_list) {
        if (!w.frames.at(op.range.first).host_mapped() || op.entries == 0 ||
            op.entries > VBH_MAX_LIST_ENTRIES)
            std::abort();
        return;
    }
    if (op.call != Call::hyp_donate && op.call != Call::guest_reclaim && !w.domains[op.dom].live)
        std::abort();
    if (w.frames.check(needed(op.call), op.range, op.dom) != Status::ok)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const World w;
    vbh::fuzz::ByteReader in{data, size};
    while (!in.empty()) {
        HypercallRegs r{in.u8() % 4 == 0 ? in.u64() : in.u8(), in.u64(), in.u64(), in.u64(), in.u64()};
        Cpl cpl{std::uint8_t(in.u8() % 8 == 0 ? in.u8() % 4 : 0)};
        if (auto op = decode(r, cpl, w.frames, w.domains, w.guests))
            check_accepted(w, *op, cpl);
        vbh_frame_range list[4];
        for (auto& e : list)
            e = {in.u16() % 4200u + (in.u8() % 32 == 0 ? in.u64() : 0), in.u8() % 70u};
        RangeList out;
        if (decode_list(list, 1 + in.u8() % 4, DomainId{1}, w.frames, out)) {
            for (std::uint32_t i = 0; i < out.count; ++i)
                for (std::uint32_t k = 0; k < i; ++k)
                    if (out.ranges[i].overlaps(out.ranges[k]))
                        std::abort();
        }
    }
    return 0;
}
