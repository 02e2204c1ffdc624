// The hypercall fuzzer's machine: the core over the real NPT engine, built once and
// put back after every input in proportion to what the input touched, so that an
// input costs its calls and checks, not a rebuilt machine (docs/fuzzing.md).
//
//   FuzzPool     the table frames (a TableMemory like ept::FramePool) that records
//                which frames were allocated or written since the snapshot;
//   FuzzMemory   frame contents, zeroed again only where an input wrote;
//   FuzzMachine  16 MiB of address space, the host NPT, the core; restore() puts
//                back the table frames, ownership window and domains an input changed.
#pragma once

#include "harness.hpp"

#include <ept/ept.hpp>
#include <vbh/core.hpp>
#include <vbh/engine_stage2.hpp>

#include <cstring>
#include <optional>

#include <dlfcn.h>

// HARNESS (harness.hpp) on the fakes too: the table-frame fake (FuzzPool) is called for
// every entry the engine writes.

namespace vbh::fuzz {

// libc's own memcmp/memset/memcpy for the harness's bulk work on its own buffers (the
// window scan, the scrub check, the restore after every input): ASan's versions first
// check both ranges' shadow, which cost as much as the work itself (perf: ~10 % of an
// input). The core's calls stay ASan's. RTLD_NEXT from the executable, which holds the
// ASan runtime, finds libc.
namespace raw {
template <class F>
F libc(const char* name, F asan) {
    void* f = dlsym(RTLD_NEXT, name);
    return f ? reinterpret_cast<F>(f) : asan;
}
inline const auto memcmp = libc<int (*)(const void*, const void*, std::size_t)>("memcmp", &std::memcmp);
inline const auto memset = libc<void* (*)(void*, int, std::size_t)>("memset", &std::memset);
inline const auto memcpy = libc<void* (*)(void*, const void*, std::size_t)>("memcpy", &std::memcpy);
} // namespace raw

inline constexpr std::uint64_t mib = 1ull << 20;
inline constexpr std::uint64_t top = 16 * mib >> frame_shift; // 4096 frames

template <std::size_t N>
class FuzzPool {
public:
    FuzzPool() {
        for (std::size_t i = 0; i < N; ++i)
            free_[i] = std::uint32_t(N - 1 - i);
        nfree_ = N;
    }
    FuzzPool(const FuzzPool&) = delete;
    FuzzPool& operator=(const FuzzPool&) = delete;

    // ept::TableMemory
    HARNESS ept::Slot* entries(std::uint64_t pa) { return frames_[index_of(pa)].e; }
    HARNESS Result<std::uint64_t> alloc() {
        if (nfree_ == 0)
            return unexpected(Status::no_memory);
        const std::uint32_t i = free_[--nfree_];
        touch(i);
        std::memset(static_cast<void*>(&frames_[i]), 0, sizeof(Frame)); // unreachable yet
        return pa_of(i);
    }
    HARNESS std::size_t available() const { return nfree_; }
    HARNESS void retire(std::uint64_t pa) { retired_[nretired_++] = index_of(pa); }
    HARNESS void wrote(ept::Slot* e) {
        ++writes_;
        touch(std::uint32_t((reinterpret_cast<std::uintptr_t>(e) -
                             reinterpret_cast<std::uintptr_t>(frames_)) / sizeof(Frame)));
    }

    HARNESS void release_retired() {
        while (nretired_ > 0)
            free_[nfree_++] = retired_[--nretired_];
    }
    HARNESS void free(std::uint64_t pa) { free_[nfree_++] = index_of(pa); }
    HARNESS std::uint64_t writes() const { return writes_; }

    // The state to come back to: free list, and the contents of every frame in use.
    HARNESS void snapshot() {
        std::memcpy(saved_free_, free_, sizeof free_);
        saved_nfree_ = nfree_;
        for (std::size_t i = 0; i < N; ++i)
            in_use_[i] = true;
        for (std::size_t k = 0; k < nfree_; ++k)
            in_use_[free_[k]] = false;
        for (std::size_t i = 0; i < N; ++i)
            if (in_use_[i])
                std::memcpy(&saved_[i], &frames_[i], sizeof(Frame));
        clear_touched();
    }
    // Back to the snapshot: only frames written or allocated since are copied.
    HARNESS void restore() {
        for (std::size_t k = 0; k < ntouched_; ++k)
            if (in_use_[touched_list_[k]])
                raw::memcpy(&frames_[touched_list_[k]], &saved_[touched_list_[k]], sizeof(Frame));
        clear_touched();
        std::memcpy(free_, saved_free_, sizeof free_);
        nfree_ = saved_nfree_;
        nretired_ = 0;
    }

private:
    struct alignas(4096) Frame {
        ept::Slot e[ept::entries_per_table];
    };

    HARNESS std::uint64_t pa_of(std::uint32_t i) const { return reinterpret_cast<std::uint64_t>(&frames_[i]); }
    HARNESS std::uint32_t index_of(std::uint64_t pa) const {
        const std::uint64_t base = pa_of(0);
        if (pa < base || pa - base >= N * sizeof(Frame) || pa % sizeof(Frame) != 0)
            __builtin_trap();
        return std::uint32_t((pa - base) / sizeof(Frame));
    }
    HARNESS void touch(std::uint32_t i) {
        if (!touched_[i]) {
            touched_[i] = true;
            touched_list_[ntouched_++] = i;
        }
    }
    HARNESS void clear_touched() {
        for (std::size_t k = 0; k < ntouched_; ++k)
            touched_[touched_list_[k]] = false;
        ntouched_ = 0;
    }

    Frame frames_[N];
    Frame saved_[N];
    std::uint32_t free_[N], saved_free_[N], retired_[N], touched_list_[N];
    bool in_use_[N] = {}, touched_[N] = {};
    std::size_t nfree_ = 0, saved_nfree_ = 0, nretired_ = 0, ntouched_ = 0;
    std::uint64_t writes_ = 0;
};

// Frame contents of the 16 MiB machine. Every write goes through words() (the core
// may write anything), plant() (the harness's two secret words) or scrub(), so the
// state of each frame says where non-zero words can be: none (clean, zero), the two
// planted ones, or anywhere (dirty). scrub() and restore() write only those, and a
// scrubbed frame is known to read as zero without being read. The core's own scrub
// loop (vbh/frame_memory.hpp) is the hosted tests'; here the core decides which frames
// to scrub, and the harness checks every frame it hands back (fuzz_hypercalls.cpp).
class FuzzMemory {
public:
    HARNESS std::uint64_t* words(Pfn p) {
        mark(p, State::dirty);
        return buf_ + p.value * words_per_frame;
    }
    // Write v into the first and last words of frame p.
    HARNESS void plant(Pfn p, std::uint64_t v) {
        if (state_[p.value] != State::dirty)
            mark(p, State::planted);
        buf_[p.value * words_per_frame] = buf_[(p.value + 1) * words_per_frame - 1] = v;
    }
    // The core's scrub (vbh::scrub() calls it): each frame of r reads as zero after.
    HARNESS void scrub(FrameRange r) {
        for (std::uint64_t i = 0; i < r.count; ++i) {
            const Pfn p = r.first.next(i);
            check(p);
            std::uint64_t* f = buf_ + p.value * words_per_frame;
            if (state_[p.value] == State::dirty)
                raw::memset(f, 0, frame_bytes);
            else if (state_[p.value] == State::planted)
                f[0] = f[words_per_frame - 1] = 0;
            if (state_[p.value] != State::clean)
                state_[p.value] = State::zero;
        }
    }
    // Frame p reads as zero: its state says so, or (dirty or planted) its words do.
    HARNESS bool zero(Pfn p) const {
        check(p);
        if (state_[p.value] == State::clean || state_[p.value] == State::zero)
            return true;
        static const std::uint64_t none[words_per_frame] = {};
        return raw::memcmp(buf_ + p.value * words_per_frame, none, frame_bytes) == 0;
    }
    HARNESS void restore() {
        for (std::size_t k = 0; k < nlist_; ++k) {
            std::uint64_t* f = buf_ + std::uint64_t(list_[k]) * words_per_frame;
            if (state_[list_[k]] == State::dirty)
                raw::memset(f, 0, frame_bytes);
            else if (state_[list_[k]] == State::planted)
                f[0] = f[words_per_frame - 1] = 0;
            state_[list_[k]] = State::clean;
        }
        nlist_ = 0;
    }

private:
    // clean: all zero and not listed; the others are listed once.
    enum class State : std::uint8_t { clean, zero, planted, dirty };
    HARNESS static void check(Pfn p) {
        if (p.value >= top)
            __builtin_trap(); // the core only touches RAM it checked
    }
    HARNESS void mark(Pfn p, State s) {
        check(p);
        if (state_[p.value] == State::clean)
            list_[nlist_++] = std::uint32_t(p.value);
        state_[p.value] = s;
    }

    static inline std::uint64_t buf_[top * words_per_frame];
    static inline State state_[top];
    static inline std::uint32_t list_[top];
    static inline std::size_t nlist_ = 0;
};

// RAM [0, 4 MiB) and [6 MiB, 16 MiB), a hole between, 64 KiB of hypervisor memory at
// 1 MiB; the host NPT maps everything but the hypervisor 1:1, as the image builds it.
struct FuzzMachine {
    static constexpr std::size_t pool_frames = 40;
    using Pool = FuzzPool<pool_frames>;
    using NptTable = ept::Table<ept::Npt, Pool>;
    struct CountFlush {
        std::uint64_t* count;
        void operator()() const { ++*count; }
    };
    using Stage2 = EngineStage2<NptTable, CountFlush>;
    using MachineCore = Core<Stage2, FuzzMemory>;

    static constexpr vbh_mem_range ram[] = {{0, 4 * mib}, {6 * mib, 10 * mib}};
    static constexpr vbh_mem_range hyp[] = {{mib, 64 * 1024}};

    FuzzMachine() {
        table.emplace(*NptTable::create(pool));
        init_ok = table->map(0, 0, top << frame_shift, {ept::Perm::rwx, ept::MemType::wb}).has_value();
        for (const auto& h : hyp)
            init_ok &= table->unmap(h.base, h.size).has_value();
        s2.emplace(*table, CountFlush{&flushes});
        core.emplace(*s2, mem);
        init_ok &= core->init(CoreConfig{meta, sizeof meta, ram, 2, hyp, 1, gfn_pool, sizeof gfn_pool})
                       .has_value();
        pool.release_retired();
        pool.snapshot();
        mem.restore();
        std::memcpy(pristine_meta, meta, sizeof meta);
        pristine_domains = core->domains();
        pristine_guests = core->guests();
    }

    // Back to the state after construction. [lo, hi): the frames whose ownership the
    // input changed (the harness tracks them call by call).
    HARNESS void restore(std::uint64_t lo, std::uint64_t hi) {
        if (lo < hi)
            std::memcpy(meta + lo, pristine_meta + lo, (hi - lo) * sizeof meta[0]);
        // The core's domain table is its only other state; it has no reset of its
        // own (the hypervisor never needs one), so the harness writes it back.
        const_cast<DomainTable&>(core->domains()) = pristine_domains;
        // Likewise the bindings and gfn records: the pool's nodes are zeroed as they are
        // handed out again, so the map's own fields are all there is to put back.
        const_cast<Guests&>(core->guests()) = pristine_guests;
        pool.restore();
        mem.restore();
        s2.emplace(*table, CountFlush{&flushes}); // no reservation, no flush pending
    }

    bool init_ok = false;
    Pool pool;
    std::optional<NptTable> table;
    std::uint64_t flushes = 0;
    std::optional<Stage2> s2;
    FuzzMemory mem;
    std::uint16_t meta[top] = {};
    std::optional<MachineCore> core;
    std::uint16_t pristine_meta[top] = {};
    DomainTable pristine_domains;
    // A small pool, so that inputs reach GUEST_DONATE's VBH_E_NO_MEMORY.
    static constexpr std::uint32_t gfn_nodes = 24;
    alignas(4096) static inline unsigned char gfn_pool[GfnMap::bytes_for(gfn_nodes)];
    Guests pristine_guests;
};

} // namespace vbh::fuzz
