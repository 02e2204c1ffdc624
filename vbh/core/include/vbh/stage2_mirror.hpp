// Stage2Mirror: one HostStage2 that fans every host stage-2 change out to a fixed list of
// stage-2 tables: the host's nested page table (the primary) and every table that must
// stay its copy (mirrors): the IOMMU's DMA remapping tables for the host's devices.
// A host device that can still DMA into a frame the NPT no longer maps for the host
// would undo every donation, so each edit the core makes to the NPT is made to
// every mirror under the same lock, in the same hypercall, before it returns. pKVM does
// the same by calling its IOMMU driver's host_stage2_idmap on every host stage-2 update.
//
// Static dispatch: the list is a template parameter pack walked at compile time. The
// mirror is its primary (a public base, built in place from the primary's constructor
// arguments): a list of one compiles to exactly the primary's code, with no pointer to
// follow on the hypercall path (tests/exitcost counts instructions), and whatever else
// the primary offers (the NPT's table() for VMCB.N_CR3 and lookups) stays reachable.
// Mirrors are held by reference: each lives where its owner (the IOMMU driver) keeps it.
//
// Semantics (the HostStage2 contract of host_stage2.hpp, lifted to the list):
//   reserve(r)       asks every member in list order (primary first). All or nothing: if
//                    one refuses, release() reaches every member (what the others set
//                    aside for this hypercall goes back) and its error is returned, so no
//                    member is left holding a reservation the core will not perform.
//                    The core answers any refusal by abandoning the hypercall (and
//                    calling release() itself), so dropping the earlier reservations of
//                    the same hypercall loses nothing.
//   unmap(r)         every member, list order.
//   map_identity(r)  every member, list order (the core has scrubbed r already).
//   flush_all_cpus() every mirror in list order, then the primary last. Each member's
//                    flush returns only once its invalidation has completed (IOTLB,
//                    device-TLB and context caches for an IOMMU; every CPU's TLB for the
//                    NPT), so when this returns no CPU and no device reaches what was
//                    unmapped. The primary goes last because the NPT's flush also hands
//                    its retired table frames back to the hypervisor pool: a mirror whose
//                    tables share that pool has finished invalidating before then.
//   release()        every member.
//   compact()        every member that defers re-merges (EngineStage2::merge_deferred)
//                    merges them, then flush_all_cpus(); whether any member had some.
//
// What an IOMMU consumer (a mirror) must guarantee:
//   - reserve is exact: it sets aside every table frame, invalidation-queue slot or
//     other resource unmap(r) / map_identity(r) can need, and refuses (changing no
//     table) if it cannot; after a successful reserve, unmap and map_identity cannot
//     fail. A timeout of the hardware's invalidation is not a failure it can report:
//     stop the machine rather than run on with a device that still sees the frame.
//   - its table starts, before the first hypercall, as the same identity map the
//     primary holds (RAM and holes, minus hypervisor memory) and afterwards changes only
//     through these calls; tests/core/stage2_mirror_test.cpp checks exactly this.
//   - flush_all_cpus returns after the invalidation completed (wait for the
//     invalidation-wait descriptor / COMPLETION_WAIT), not merely after queueing it.
//   - it runs under the core's global lock: it must not call back into the core, take
//     a lock the core's callers may hold, or allocate outside what reserve set aside.
//   - a table frame it retires is reused only after its own flush; if its tables live
//     in the primary's pool it leaves the pool's release of retired frames to the
//     primary (whose flush runs last).
#pragma once

#include <vbh/host_stage2.hpp>

namespace vbh {

template <HostStage2 Primary, HostStage2... Mirrors>
class Stage2Mirror : public Primary {
public:
    // Stage2Mirror(mirror..., primary constructor arguments...)
    template <class... A>
    explicit Stage2Mirror(Mirrors&... mirrors, A&&... primary_args)
        : Primary(static_cast<A&&>(primary_args)...), mirrors_{mirrors...} {}
    Stage2Mirror(const Stage2Mirror&) = delete;
    Stage2Mirror& operator=(const Stage2Mirror&) = delete;

    Result<void> reserve(FrameRange r) {
        Result<void> res = Primary::reserve(r);
        if (res)
            mirrors_.each_until([&](auto& s) { return (res = s.reserve(r)).has_value(); });
        if (!res)
            release();
        return res;
    }

    void unmap(FrameRange r) {
        Primary::unmap(r);
        mirrors_.each([&](auto& s) { s.unmap(r); });
    }

    void map_identity(FrameRange r) {
        Primary::map_identity(r);
        mirrors_.each([&](auto& s) { s.map_identity(r); });
    }

    void flush_all_cpus() {
        mirrors_.each([](auto& s) { s.flush_all_cpus(); });
        Primary::flush_all_cpus();
    }

    void release() {
        Primary::release();
        mirrors_.each([](auto& s) { s.release(); });
    }

    // Every member that defers re-merges merges them; then the flush of the list, in
    // its order (the primary, which releases the pool's retired frames, last).
    bool compact() {
        bool any = false;
        auto one = [&](auto& s) {
            if constexpr (requires { s.merge_deferred(); })
                any |= s.merge_deferred();
        };
        one(static_cast<Primary&>(*this));
        mirrors_.each(one);
        if (any)
            flush_all_cpus();
        return any;
    }

    Primary& primary() { return *this; }

private:
    // A list of references walked at compile time (no <tuple>: the image is
    // freestanding and this is all the list needs).
    template <class... L>
    struct List {
        template <class F> void each(F&&) {}
        template <class F> bool each_until(F&&) { return true; }
    };
    template <class H, class... T>
    struct List<H, T...> {
        explicit List(H& h, T&... t) : head{h}, tail{t...} {}
        template <class F> void each(F&& f) {
            f(head);
            tail.each(f);
        }
        // f(member) -> bool; stops at the first false and returns false.
        template <class F> bool each_until(F&& f) { return f(head) && tail.each_until(f); }
        H& head;
        List<T...> tail;
    };

    [[no_unique_address]] List<Mirrors...> mirrors_;
};

} // namespace vbh
