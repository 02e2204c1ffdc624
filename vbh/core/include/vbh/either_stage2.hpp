// EitherStage2<A, B>: one HostStage2 that is, for its whole life, either an A or a B,
// chosen at run time. The image's DMA mirror is one IOMMU's table and the IOMMU kind
// is the machine's (VT-d on Intel platforms, AMD-Vi on AMD; the boot record says which),
// while Stage2Mirror's list is fixed at compile time: this is that list's one entry.
// Only the chosen member exists (the caller builds it, with its own pool); every call
// is forwarded to it after one predictable branch. merge_deferred is forwarded when
// both members defer re-merges (EngineStage2), so Stage2Mirror::compact still reaches it.
#pragma once

#include <vbh/host_stage2.hpp>

namespace vbh {

template <HostStage2 A, HostStage2 B>
class EitherStage2 {
public:
    explicit EitherStage2(A& a) : a_{&a} {}
    explicit EitherStage2(B& b) : b_{&b} {}
    EitherStage2(const EitherStage2&) = delete;
    EitherStage2& operator=(const EitherStage2&) = delete;

    Result<void> reserve(FrameRange r) { return a_ ? a_->reserve(r) : b_->reserve(r); }
    void unmap(FrameRange r) { a_ ? a_->unmap(r) : b_->unmap(r); }
    void map_identity(FrameRange r) { a_ ? a_->map_identity(r) : b_->map_identity(r); }
    void flush_all_cpus() { a_ ? a_->flush_all_cpus() : b_->flush_all_cpus(); }
    void release() { a_ ? a_->release() : b_->release(); }

    bool merge_deferred()
        requires requires(A& a, B& b) {
            a.merge_deferred();
            b.merge_deferred();
        }
    {
        return a_ ? a_->merge_deferred() : b_->merge_deferred();
    }

    A* first() const { return a_; }
    B* second() const { return b_; }

private:
    A* a_ = nullptr;
    B* b_ = nullptr;
};

} // namespace vbh
