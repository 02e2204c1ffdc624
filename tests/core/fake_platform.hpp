// Hosted fakes for the core's two seams: a host nested page table that records which
// frames it maps (with a reservation budget, to provoke Status::no_memory), and frame
// memory backed by a plain buffer.
#pragma once

#include "sparse_memory.hpp"

#include <vbh/frame_memory.hpp>
#include <vbh/frame_table.hpp>
#include <vbh/host_stage2.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vbh::test {

class FakeStage2 {
public:
    explicit FakeStage2(std::uint64_t frames) : mapped_(frames, false) {}

    // The image's start state: every host-owned frame mapped 1:1.
    void map_host_frames(const FrameTable& t) {
        for (std::uint64_t p = 0; p < t.frames(); ++p)
            mapped_[p] = t.at(Pfn{p}).host_mapped();
    }

    Result<void> reserve(FrameRange r) {
        if (budget_ >= 0 && std::int64_t(reserved_.size()) >= budget_)
            return unexpected(Status::no_memory);
        reserved_.push_back(r);
        return {};
    }
    void unmap(FrameRange r) { set(r, false), events += 'u'; }
    void map_identity(FrameRange r) { set(r, true), events += 'm'; }
    void flush_all_cpus() { ++flushes_, events += 'f'; }
    void release() { reserved_.clear(); }

    bool mapped(Pfn p) const { return p.value < mapped_.size() && mapped_[p.value]; }
    const std::vector<bool>& bits() const { return mapped_; }
    // At most `n` reserve() calls succeed per hypercall; -1: unlimited.
    void set_budget(std::int64_t n) { budget_ = n; }
    std::uint64_t flushes() const { return flushes_; }
    std::size_t reservations() const { return reserved_.size(); }
    std::string events; // 'u' unmap, 'm' map_identity, 'f' flush_all_cpus, in order

private:
    // perform may only touch what decode reserved (validate, then commit).
    void set(FrameRange r, bool v) {
        bool covered = false;
        for (const auto& res : reserved_)
            covered |= res.first <= r.first && r.end() <= res.end();
        EXPECT_TRUE(covered) << "table edit of pfn " << r.first.value << "+" << r.count
                             << " without a reservation";
        for (std::uint64_t p = r.first.value; p < r.end(); ++p)
            mapped_[p] = v;
    }

    std::vector<bool> mapped_;
    std::vector<FrameRange> reserved_;
    std::int64_t budget_ = -1;
    std::uint64_t flushes_ = 0;
};

class FakeMemory {
public:
    explicit FakeMemory(std::uint64_t frames) : words_(frames * words_per_frame, 0) {}
    std::uint64_t* words(Pfn p) { return &words_.at(p.value * words_per_frame); }
    const std::vector<std::uint64_t>& all() const { return words_; }

private:
    std::vector<std::uint64_t> words_;
};

static_assert(HostStage2<FakeStage2>);
static_assert(FrameMemory<FakeMemory>);

} // namespace vbh::test
