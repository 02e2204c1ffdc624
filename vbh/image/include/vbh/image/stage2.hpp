// The host's nested page table: identity map of physical memory minus the
// hypervisor's and the protected domains' frames, edited by the core through its
// HostStage2 seam (the core's EngineStage2 adapter over the ept/ engine). HostNpt is that
// adapter inside a Stage2Mirror (vbh/stage2_mirror.hpp), which repeats every edit on a
// list of mirrors: the IOMMU's DMA remapping table for the host's devices (iommu.hpp).
// CrossCpuFlush is the cross-CPU invalidation of docs/launch.md: bump the NPT
// generation, kick every CPU in guest mode with an NMI, wait until each has flushed
// or left guest mode.
#pragma once

#include <ept/ept.hpp>
#include <vbh/engine_stage2.hpp>
#include <vbh/image/backend.hpp>
#include <vbh/image/iommu.hpp>
#include <vbh/image/memory.hpp>
#include <vbh/stage2_mirror.hpp>

namespace vbh::image {

struct CrossCpuFlush {
    void operator()() const;
};

// The format is the backend's (NPT on SVM, EPT on VMX).
using NptTable = ept::Table<Backend::Stage2, HypFrames>;
using HostNpt = Stage2Mirror<EngineStage2<NptTable, CrossCpuFlush>, DmaStage2>;

static_assert(HostStage2<HostNpt>);

} // namespace vbh::image
