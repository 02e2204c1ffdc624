// Core: ownership map + domains + hypercall dispatch, over two platform seams: the
// host's nested page table (HostStage2) and frame contents (FrameMemory).
//
// dispatch() = lock, decode (may fail, changes nothing), reserve page-table frames
// (may fail, changes no translation: it may first re-merge deferred tables), perform
// (cannot fail), unlock. One global lock
// serialises every ownership change; lock order in docs/hypercalls.md, "Locking".
#pragma once

#include <vbh/core_config.hpp>
#include <vbh/frame_memory.hpp>
#include <vbh/host_stage2.hpp>
#include <vbh/hypercall.hpp>
#include <vbh/spinlock.hpp>
#include <vbh/test_hooks.hpp>

namespace vbh {

template <HostStage2 S, FrameMemory M>
class Core {
public:
    Core(S& stage2, M& memory) : s2_{stage2}, mem_{memory} {}
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    // Once, on one CPU, before any hypercall.
    Result<void> init(const CoreConfig& cfg) {
        if (auto r = init_frame_table(frames_, cfg); !r)
            return r;
        return guests_.gfns.attach(cfg.gfn_pool, cfg.gfn_pool_bytes);
    }

    // One hypercall from any CPU, with the caller's registers already copied out of the
    // VMCB/VMCS. Lock order: docs/hypercalls.md, "Locking".
    HypercallOut dispatch(const HypercallRegs& regs, Cpl cpl) {
        LockGuard guard{lock_};
        auto op = decode(regs, cpl, frames_, domains_, guests_);
        if (!op)
            return {op.error()};
        if (op->call == Call::donate_list)
            if (auto r = copy_list(*op); !r)
                return {r.error()};
        if (auto r = reserve_all(*op); !r)
            return {r.error()};
        HypercallOut out = perform(*op);
        s2_.release();
        return out;
    }

    // A platform reset (image/src/reset.cpp): take the lock for good, so that no
    // ownership changes while memory is scrubbed.
    void freeze() { lock_.lock(); }

    // Unlocked views, for tests and for init before any other CPU runs.
    const FrameTable& frames() const { return frames_; }
    const DomainTable& domains() const { return domains_; }
    const Guests& guests() const { return guests_; }

    // Lock-free, for the shadow NPT (docs/nested.md, "Shadow NPT"): the domain a nested
    // root is bound to (host_domain: none), and whether frame p is dom's private memory
    // donated for gfn. A racing change is followed by its cross-CPU flush, which drops
    // every shadow built meanwhile (drop_shadows below).
    DomainId root_domain(std::uint64_t root) const { return guests_.roots.lookup(root); }
    bool private_at(Pfn p, std::uint64_t gfn, DomainId dom) const {
        return frames_.at(p) == FrameMeta{Owner::guest, dom} && guests_.gfns.gfn_of(p) == gfn;
    }

private:
    // Copy the caller's array into hypervisor memory once, then validate the copy:
    // another CPU rewriting it meanwhile changes nothing we check (docs/threats.md #4).
    Result<void> copy_list(const Op& op) {
        const std::uint64_t* src = mem_.words(list_frame(op));
        std::uint64_t first = (op.arg & (frame_bytes - 1)) / sizeof(std::uint64_t);
        for (std::uint32_t i = 0; i < op.entries; ++i) {
            copy_[i].pfn = __atomic_load_n(&src[first + 2 * i], __ATOMIC_RELAXED);
            copy_[i].count = __atomic_load_n(&src[first + 2 * i + 1], __ATOMIC_RELAXED);
        }
        return decode_list(copy_, op.entries, op.dom, frames_, list_);
    }

    // The stage-2 may hold tables it has not re-merged yet (EngineStage2, "Deferred
    // re-merge"); they never cost a hypercall its frames: short of frames, it merges them
    // (translations unchanged), flushes, and the reservation is asked again.
    Result<void> reserve_all(const Op& op) {
        auto r = reserve(op);
        if (!r) {
            s2_.release();
            if (r.error() != Status::no_memory || !compact())
                return r;
            if (r = reserve(op); !r)
                s2_.release();
        }
        return r;
    }

    bool compact() {
        if constexpr (requires { s2_.compact(); })
            return s2_.compact();
        return false;
    }

    Result<void> reserve(const Op& op) {
        switch (op.call) {
        case Call::donate:
        case Call::reclaim:
        case Call::hyp_donate: return s2_.reserve(op.range);
        case Call::donate_list: return reserve_list();
        case Call::domain_destroy: return reserve_destroy(op.dom);
        case Call::guest_reclaim: return s2_.reserve(op.range);
        case Call::guest_donate:
            // Both gfn trees' new nodes, then the host table's.
            if (guests_.gfns.nodes_needed(op.dom, op.range, op.arg) > guests_.gfns.available())
                return unexpected(Status::no_memory);
            return s2_.reserve(op.range);
        default: return {};
        }
    }

    Result<void> reserve_list() {
        for (std::uint32_t i = 0; i < list_.count; ++i)
            if (auto r = s2_.reserve(list_.ranges[i]); !r)
                return r;
        return {};
    }

    Result<void> reserve_destroy(DomainId dom) {
        Result<void> out;
        auto one = [&](FrameRange run) {
            if (out)
                out = s2_.reserve(run);
        };
        for_each_run(dom, FrameMeta{Owner::domain, dom}, domains_[dom].owned, one);
        for_each_run(dom, FrameMeta{Owner::guest, dom}, domains_[dom].guest, one);
        return out;
    }

    // fn(run) for each maximal run of frames equal to m, which are `frames` in all and
    // lie in the domain's span: the walk stops at the last one. A teardown costs the
    // span of the domain's frames, not the size of RAM.
    template <class Fn>
    void for_each_run(DomainId dom, FrameMeta m, std::uint64_t frames, Fn&& fn) const {
        const Domain& d = domains_[dom];
        for (std::uint64_t from = d.first; frames != 0;) {
            const FrameRange run = frames_.next_run(Pfn{from}, m, d.end);
            if (run.count == 0)
                break;
            fn(run);
            frames -= run.count < frames ? run.count : frames;
            from = run.end();
        }
    }

    HypercallOut perform(const Op& op) {
        Domain& d = domains_[op.dom];
        switch (op.call) {
        case Call::version: return {Status::ok, VBH_ABI_VERSION, 0};
        case Call::domain_create:
            domains_.create(op.dom, std::uint32_t(op.arg));
            return {Status::ok, op.dom.value, 0};
        case Call::domain_destroy: return destroy(op.dom);
        case Call::share:
            frames_.apply(Transition::share, op.range, op.dom);
            d.borrowed += op.range.count;
            d.extend(op.range);
            return {};
        case Call::unshare:
            frames_.apply(Transition::unshare, op.range, op.dom);
            d.borrowed -= op.range.count;
            return {};
        case Call::donate: return donate(op.range, Transition::donate, op.dom);
        case Call::hyp_donate: return donate(op.range, Transition::hyp_donate, op.dom);
        case Call::donate_list: return donate_list(op.dom);
        case Call::reclaim: return reclaim(op.range, op.dom);
        case Call::bind_root: guests_.roots.bind(op.arg, op.dom); return drop_shadows();
        case Call::unbind_root: guests_.roots.unbind(op.arg); return drop_shadows();
        case Call::guest_donate: return guest_donate(op);
        case Call::guest_reclaim: return guest_reclaim(op.range);
        // Compiled and reached only in a test-hooks build; the product's decode()
        // never yields these (vbh/test_hooks.hpp).
        case Call::test_fill:
            if constexpr (test_hooks) {
                fill(mem_, op.range, op.arg);
                return {};
            }
            return {Status::unknown_call};
        case Call::test_hash:
            if constexpr (test_hooks)
                return {Status::ok, hash(mem_, op.range), 0};
            return {Status::unknown_call};
        }
        return {Status::invalid};
    }

    // The host loses access (unmap, then every CPU's cached translations go) before
    // the frames change owner.
    HypercallOut donate(FrameRange r, Transition t, DomainId dom) {
        s2_.unmap(r);
        s2_.flush_all_cpus();
        frames_.apply(t, r, dom);
        if (t == Transition::donate) {
            domains_[dom].owned += r.count;
            domains_[dom].extend(r);
        }
        return {Status::ok, r.count, 0};
    }

    HypercallOut donate_list(DomainId dom) {
        std::uint64_t total = 0;
        for (std::uint32_t i = 0; i < list_.count; ++i)
            s2_.unmap(list_.ranges[i]);
        s2_.flush_all_cpus();
        for (std::uint32_t i = 0; i < list_.count; ++i) {
            frames_.apply(Transition::donate, list_.ranges[i], dom);
            total += list_.ranges[i].count;
            domains_[dom].extend(list_.ranges[i]);
        }
        domains_[dom].owned += total;
        return {Status::ok, total, 0};
    }

    // Zeroed before the host's table maps the frames again (docs/threats.md #6).
    void return_to_host(FrameRange r, Transition t, DomainId dom) {
        scrub(mem_, r);
        s2_.map_identity(r);
        frames_.apply(t, r, dom);
    }

    HypercallOut reclaim(FrameRange r, DomainId dom) {
        return_to_host(r, Transition::reclaim, dom);
        s2_.flush_all_cpus(); // a re-merge may have retired a cached table
        domains_[dom].owned -= r.count;
        return {Status::ok, r.count, 0};
    }

    // A shadow NPT holds private frames the host table never maps: a change of who may
    // see them (a reclaim, a destroy, a root bound or unbound) removes no host
    // translation, yet every CPU must drop its shadows before it next enters a guest.
    // The flush's generation does that (docs/nested.md, "Shadow NPT").
    HypercallOut drop_shadows(HypercallOut out = {}) {
        if constexpr (requires { s2_.force_flush(); })
            s2_.force_flush();
        s2_.flush_all_cpus();
        return out;
    }

    HypercallOut guest_donate(const Op& op) {
        donate(op.range, Transition::guest_donate, op.dom);
        guests_.gfns.insert(op.dom, op.range, op.arg);
        domains_[op.dom].guest += op.range.count;
        domains_[op.dom].extend(op.range);
        return {Status::ok, op.range.count, 0};
    }

    // Frames of any domains. Their gfn records go first, then every CPU drops its
    // shadows: from then on no L2 can reach the frames (a fill finds no record and the
    // frames are not the host's yet), so the scrub is the last write they see before
    // the host maps them again. Scrubbing first would leave a window in which an L2
    // still running on an old shadow writes after the scrub, for the host to read.
    HypercallOut guest_reclaim(FrameRange r) {
        for (std::uint64_t i = 0; i < r.count; ++i) {
            const DomainId dom = frames_.at(r.first.next(i)).domain();
            guests_.gfns.erase(dom, r.first.next(i));
            --domains_[dom].guest;
        }
        drop_shadows();
        return_to_host(r, Transition::guest_reclaim, host_domain);
        s2_.flush_all_cpus(); // a re-merge may have retired a cached table
        return {Status::ok, r.count, 0};
    }

    // Before a destroy scrubs anything: the domain's roots and gfn records go and every
    // CPU drops its shadows (as guest_reclaim, above).
    void forget_guest(DomainId dom) {
        const bool roots = guests_.roots.unbind_all(dom) != 0;
        if (domains_[dom].guest == 0 && !roots)
            return;
        for_each_run(dom, FrameMeta{Owner::guest, dom}, domains_[dom].guest, [&](FrameRange run) {
            for (std::uint64_t i = 0; i < run.count; ++i)
                guests_.gfns.erase(dom, run.first.next(i));
        });
        drop_shadows();
    }

    HypercallOut destroy(DomainId dom) {
        const Domain& d = domains_[dom];
        std::uint64_t scrubbed = 0, unshared = 0;
        forget_guest(dom);
        for_each_run(dom, FrameMeta{Owner::domain, dom}, d.owned, [&](FrameRange run) {
            return_to_host(run, Transition::destroy, dom);
            scrubbed += run.count;
        });
        for_each_run(dom, FrameMeta{Owner::guest, dom}, d.guest, [&](FrameRange run) {
            return_to_host(run, Transition::destroy, dom);
            scrubbed += run.count;
        });
        for_each_run(dom, FrameMeta{Owner::shared, dom}, d.borrowed, [&](FrameRange run) {
            frames_.apply(Transition::destroy, run, dom);
            unshared += run.count;
        });
        if (scrubbed != 0)
            s2_.flush_all_cpus();
        domains_.destroy(dom);
        return {Status::ok, scrubbed, unshared};
    }

    SpinLock lock_;
    FrameTable frames_;
    DomainTable domains_;
    Guests guests_;
    vbh_frame_range copy_[VBH_MAX_LIST_ENTRIES];
    RangeList list_;
    S& s2_;
    M& mem_;
};

} // namespace vbh
