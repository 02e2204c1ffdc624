// A CPU wired for nested SVM as Svm::setup wires it, over test memory: the host's
// block, the L2 block, the VMCB12 copy, the merged and host permission maps, vbh's
// NPT root and ASIDs. Shared by the run-time tests of nested_run.hpp and its shadow.
#pragma once

#include "../nested/fixture.hpp"

#include <vbh/svm/nested_run.hpp>

#include <cstdint>

namespace vbh::test {

constexpr std::uint64_t npt_root = 0xabc000, merged_msrpm_pa = 0x5550000, merged_iopm_pa = 0x5560000;

struct NestedMemory {
    svm::Vmcb l1, l2, v12;
    alignas(4096) std::uint8_t msrpm[svm::msrpm_bytes], host_msrpm[svm::msrpm_bytes];
    alignas(4096) std::uint8_t iopm[svm::iopm_bytes], host_iopm[svm::iopm_bytes];
    std::uint8_t vbh_msrpm[svm::msrpm_bytes], vbh_iopm[svm::iopm_bytes];
};

// m zeroed, c the CPU: the host runs its block; nothing nested has run yet.
inline void wire_nested_cpu(svm::Cpu& c, NestedMemory& m) {
    m.l1 = *svm::test::host_block();
    c.l1 = {&m.l1, 0x1000000};
    c.active = c.l1;
    svm::NestedCpu& n = c.nested;
    n.l2 = {&m.l2, 0x2000000};
    n.v12 = &m.v12;
    n.msrpm = m.msrpm;
    n.msrpm_pa = merged_msrpm_pa;
    n.iopm = m.iopm;
    n.iopm_pa = merged_iopm_pa;
    n.host_msrpm = m.host_msrpm;
    n.host_iopm = m.host_iopm;
    n.npt_root = npt_root;
    n.ready = n.asids.init(16, 1);
}

} // namespace vbh::test
