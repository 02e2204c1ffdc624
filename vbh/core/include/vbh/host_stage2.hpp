// HostStage2: the narrow view the core has of the host's nested page table (NPT/EPT).
// The table maps host physical memory 1:1; the core only removes frames from it and
// puts them back. The implementation is the ept/ engine on target (EngineStage2) inside
// a Stage2Mirror that repeats every call on the IOMMU's tables (stage2_mirror.hpp);
// tests use fakes.
//
// Contract (validate, then commit: docs/architecture.md, "Code"):
//   reserve(r)      decode phase, may fail with Status::no_memory and then changes
//                   nothing; sets aside the table frames that one later unmap(r) or
//                   map_identity(r) may need (splitting a large page). Reservations
//                   accumulate until release(). After a refusal the caller abandons
//                   the operation and calls release(); a list of stage-2s
//                   (Stage2Mirror) may already have dropped the earlier reservations
//                   of the same operation by then.
//   unmap(r)        perform phase, cannot fail; r was reserved.
//   map_identity(r) perform phase, cannot fail; r was reserved. Read/write/execute,
//                   write-back (the host's normal memory attributes).
//   flush_all_cpus() invalidate cached translations of the host table on every CPU and
//                   return when all have done so (docs/threats.md #5). Called after every
//                   perform that edited the table, before the hypercall returns; an
//                   implementation may skip it when no cached entry can be stale.
//   release()       give back what reserve() set aside and perform did not consume.
//   compact()       optional (not in the concept): re-merge tables the implementation
//                   left split for later (EngineStage2, "Deferred re-merge") and flush;
//                   returns whether it had any. The core calls it when a reservation is
//                   refused for want of frames, then asks again. Changes no translation.
#pragma once

#include <vbh/frame.hpp>
#include <vbh/result.hpp>

#include <concepts>

namespace vbh {

template <class T>
concept HostStage2 = requires(T& s, FrameRange r) {
    { s.reserve(r) } -> std::same_as<Result<void>>;
    { s.unmap(r) } -> std::same_as<void>;
    { s.map_identity(r) } -> std::same_as<void>;
    { s.flush_all_cpus() } -> std::same_as<void>;
    { s.release() } -> std::same_as<void>;
};

} // namespace vbh
