// SparseMemory: FrameMemory for large fake machines (no GoogleTest: the fuzzers use it).
#pragma once

#include <vbh/frame_memory.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

namespace vbh::test {

// Frame memory for large fake machines: the first `tracked` frames touched get their
// own zeroed storage; any frame touched after that shares one scratch frame (so that a
// 1 GiB scrub costs bandwidth, not a GiB of test memory). Tests fill and hash only
// frames they touched early.
class SparseMemory {
public:
    explicit SparseMemory(std::size_t tracked = 4096) : tracked_{tracked} {}

    std::uint64_t* words(Pfn p) {
        auto it = frames_.find(p.value);
        if (it != frames_.end())
            return it->second.get();
        if (frames_.size() >= tracked_)
            return scratch_.get();
        auto& f = frames_[p.value];
        f = std::make_unique<std::uint64_t[]>(words_per_frame);
        return f.get();
    }
    std::size_t touched() const { return frames_.size(); }

private:
    std::size_t tracked_;
    std::map<std::uint64_t, std::unique_ptr<std::uint64_t[]>> frames_;
    std::unique_ptr<std::uint64_t[]> scratch_ = std::make_unique<std::uint64_t[]>(words_per_frame);
};

static_assert(FrameMemory<SparseMemory>);

} // namespace vbh::test
