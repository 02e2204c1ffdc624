// RecordingMemory: a TableMemory for tests. It wraps a FramePool, can cap how many frames
// are available (pool-exhaustion tests), counts every entry write and calls a hook after
// each one (the intermediate-state checker), and remembers retired frames.
#pragma once

#include <ept/ept.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>

namespace vbh::ept::test {

template <std::size_t N = 2048>
class RecordingMemory {
public:
    RecordingMemory() : pool_{std::make_unique<FramePool<N>>(0x100000000ll)} {}

    Slot* entries(std::uint64_t pa) { return pool_->entries(pa); }

    Result<std::uint64_t> alloc()
    {
        if (available() == 0) return unexpected(Status::no_memory);
        if (limit_ != SIZE_MAX) --limit_;
        return pool_->alloc();
    }

    std::size_t available() const { return limit_ < pool_->available() ? limit_ : pool_->available(); }

    void retire(std::uint64_t pa)
    {
        if (!retired_.insert(pa).second) ADD_FAILURE() << "frame retired twice: " << pa;
        pool_->retire(pa);
    }

    void wrote(Slot* e)
    {
        ++writes_;
        if (on_write) on_write(e);
    }

    std::size_t release_retired()
    {
        retired_.clear();
        return pool_->release_retired();
    }

    void limit(std::size_t n) { limit_ = n; }
    void unlimit() { limit_ = SIZE_MAX; }
    std::size_t writes() const { return writes_; }
    const std::set<std::uint64_t>& retired() const { return retired_; }
    std::size_t pool_available() const { return pool_->available(); }
    static constexpr std::size_t capacity = N;

    // The frame holding entry e, for the checker.
    std::uint64_t frame_of(const Slot* e) const
    {
        return (reinterpret_cast<std::uint64_t>(e) & ~std::uint64_t{4095}) + 0x100000000ull;
    }

    std::function<void(Slot*)> on_write;

private:
    std::unique_ptr<FramePool<N>> pool_;
    std::size_t limit_ = SIZE_MAX;
    std::size_t writes_ = 0;
    std::set<std::uint64_t> retired_;
};

static_assert(TableMemory<RecordingMemory<>>);

} // namespace vbh::ept::test
