// KVM's side of the nested run-path tests with nested paging, in FakeEnv's host RAM:
// KVM's PML4 in frame 0, VMCB12 in 1, MSRPM 2-3, IOPM 4-6, KVM's PDPT in 7. PDPT[0] is a
// 1 GiB leaf onto L1 address 0 (so L2 page n is host frame n, and frames 8 and up are
// MMIO); PDPT[1] is absent. Shared by exit_nested_shadow_test, exit_nested_state_test
// and exit_pstate_test.
#pragma once

#include "../nested/fixture.hpp"
#include "fake_env.hpp"

#include <vbh/svm/nested_run.hpp>

#include <cstdint>
#include <cstring>

namespace vbh::test::kvm {

constexpr std::uint64_t pml4_pfn = 0, v12_pfn = 1, msrpm_pfn = 2, iopm_pfn = 4, pdpt_pfn = 7;

// Entry i of the table in host frame pfn.
inline std::uint64_t& table_entry(FakeEnv& env, std::uint64_t pfn, unsigned i) {
    return reinterpret_cast<std::uint64_t*>(env.ram[pfn].data())[i];
}

// KVM's two tables: PML4[0] -> PDPT, PDPT[0] the 1 GiB leaf onto address 0.
inline void put_tables(FakeEnv& env) {
    namespace npte = svm::npte;
    table_entry(env, pml4_pfn, 0) = (pdpt_pfn << 12) | npte::p | npte::rw | npte::us;
    table_entry(env, pdpt_pfn, 0) = npte::p | npte::rw | npte::us | npte::ps | npte::d;
}

// A VMCB12 that passes every check, nested paging on KVM's tables, the maps above and
// asid_tlb as given, written into its frame; returns the host's copy there.
inline svm::Vmcb& put_vmcb12(FakeEnv& env, std::uint64_t asid_tlb) {
    svm::Vmcb y = *svm::test::valid_vmcb12();
    y.msrpm_pa = msrpm_pfn << 12;
    y.iopm_pa = iopm_pfn << 12;
    y.np_ctl = svm::NpEnable::set(0, 1);
    y.n_cr3 = pml4_pfn << 12;
    y.g_pat = svm::test::valid_pat;
    y.asid_tlb = asid_tlb;
    std::memcpy(env.ram[v12_pfn].data(), &y, sizeof y);
    return *reinterpret_cast<svm::Vmcb*>(env.ram[v12_pfn].data());
}

} // namespace vbh::test::kvm
