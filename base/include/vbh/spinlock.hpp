// The core's global lock: a test-and-test-and-set spinlock on compiler atomics.
// <atomic> is not usable with the freestanding flags under clang (-mno-80387 rejects
// its long double specialisations), so this uses the __atomic builtins directly.
// A CPU spinning here is in the hypervisor, not in guest mode, so a holder's cross-CPU
// flush never waits for it (docs/hypercalls.md, "Locking").
#pragma once

namespace vbh {

class SpinLock {
public:
    void lock() {
        while (__atomic_exchange_n(&held_, true, __ATOMIC_ACQUIRE)) {
            while (__atomic_load_n(&held_, __ATOMIC_RELAXED)) {
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
    explicit LockGuard(SpinLock& l) : lock_{l} { lock_.lock(); }
    ~LockGuard() { lock_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    SpinLock& lock_;
};

} // namespace vbh
