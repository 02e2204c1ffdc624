// The core's global lock: a test-and-test-and-set spinlock on compiler atomics.
// <atomic> is not usable with the freestanding flags under clang (-mno-80387 rejects
// its long double specialisations), so this uses the __atomic builtins directly.
//
// While spinning, lock() calls relax(): a platform whose cross-CPU flush waits for CPUs
// inside the hypervisor services flush requests there, so a CPU waiting here never
// blocks a holder that is flushing all CPUs (docs/hypercalls.md, "Locking").
#pragma once

namespace vbh {

struct NoRelax {
    void operator()() const {}
};

class SpinLock {
public:
    template <class Relax = NoRelax>
    void lock(Relax relax = {}) {
        while (__atomic_exchange_n(&held_, true, __ATOMIC_ACQUIRE)) {
            while (__atomic_load_n(&held_, __ATOMIC_RELAXED)) {
                relax();
                __builtin_ia32_pause();
            }
        }
    }
    bool try_lock() { return !__atomic_exchange_n(&held_, true, __ATOMIC_ACQUIRE); }
    void unlock() { __atomic_store_n(&held_, false, __ATOMIC_RELEASE); }
    bool held() const { return __atomic_load_n(&held_, __ATOMIC_RELAXED); }

private:
    bool held_ = false;
};

class LockGuard {
public:
    template <class Relax = NoRelax>
    explicit LockGuard(SpinLock& l, Relax relax = {}) : lock_{l} { lock_.lock(relax); }
    ~LockGuard() { lock_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    SpinLock& lock_;
};

} // namespace vbh
