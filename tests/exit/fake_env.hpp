// A fake hypervisor environment for the exit dispatcher: host memory is an array of
// frames, ownership a set of "blocked" pfns, the core dispatcher answers VERSION.
#pragma once

#include <vbh/exit.hpp>
#include <vbh/svm/host_insn.hpp>
#include <vbh/svm/msr.hpp>
#include <vbh/svm/pstate.hpp>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

namespace vbh::test {

// The CPU's MSRs as the SVM emulation reaches them (svm/msr.hpp, Hw): a map that
// records every write the hypervisor makes on the host's behalf.
struct FakeMsrs {
    static inline std::map<std::uint32_t, std::uint64_t> regs;
    static inline std::vector<std::pair<std::uint32_t, std::uint64_t>> writes;
    static std::uint64_t read(std::uint32_t msr) { return regs[msr]; }
    static void write(std::uint32_t msr, std::uint64_t x) {
        regs[msr] = x;
        writes.emplace_back(msr, x);
    }
    static void reset() {
        regs.clear();
        writes.clear();
    }
};

// What QEMU's EPYC model reports: SCE, LME/LMA, NXE, FFXSR; no TCE, no extended
// counters; 40 physical address bits; neither SKINIT nor SVM-Lock.
inline constexpr svm::MsrCaps epyc_caps{
    efer_sce | efer_lme | efer_lma | efer_nxe | efer_ffxsr | efer_svme, false, 1ull << 40, false};

struct FakeEnv {
    static constexpr std::uint32_t cpus = 2;
    static constexpr std::uint64_t frames = 8;

    alignas(4096) std::array<std::array<unsigned char, 4096>, frames> ram{};
    std::set<std::uint64_t> blocked_pfns;  // hypervisor / donated: not host-owned
    std::set<std::uint32_t> kicks;
    EventLog event_log;
    vbh_cpu_stats cpu_stats[cpus] = {};
    vbh_cpu_cycles cpu_cycles[cpus] = {};
    bool is_sealed = false;
    int core_calls = 0;
    int frames_asked = 0;
    int frames_done = 0;
    int cache_flushes = 0;
    svm::MsrCaps msr_caps = epyc_caps;
    // Each CPU's SVM state as the host sees it, and its control block (svm::Cpu).
    svm::HostSvm host[cpus] = {};
    std::array<svm::Vmcb, cpus> l1{};
    int pages_asked = 0;

    FakeEnv() { FakeMsrs::reset(); }

    HypercallOut core_hypercall(VcpuState&, const HypercallRegs& a) {
        ++core_calls;
        if (a.rax == VBH_HC_VERSION)
            return {Status::ok, VBH_ABI_VERSION, 0};
        return {Status::unknown_call};
    }
    // The SVM backend's MSR rules, as the image's environment uses them.
    MsrResult rdmsr(const VcpuState& v, std::uint32_t msr) {
        return svm::emulate_rdmsr(host[v.cpu], v, msr);
    }
    MsrResult wrmsr(VcpuState& v, std::uint32_t msr, std::uint64_t x) {
        return svm::emulate_wrmsr<FakeMsrs>(host[v.cpu], v, msr, x, msr_caps);
    }
    ExitAction virt_insn(VcpuState& v, const Exit& x) {
        return svm::emulate_host_insn(host[v.cpu], l1[v.cpu], v, x, *this, msr_caps);
    }
    // As the image's: RAM beyond `frames` is not RAM (MMIO), blocked pfns are
    // hypervisor or donated memory.
    Result<void*> host_page(std::uint64_t pfn) {
        ++pages_asked;
        ++frames_asked;
        if (pfn >= frames)
            return unexpected(Status::range);
        if (blocked_pfns.count(pfn))
            return unexpected(Status::state);
        return static_cast<void*>(ram[pfn].data());
    }
    Result<void*> host_frame(std::uint64_t pfn) {
        ++frames_asked;
        if (pfn >= frames)
            return unexpected(Status::range);
        if (blocked_pfns.count(pfn))
            return unexpected(Status::state);
        return static_cast<void*>(ram[pfn].data());
    }
    void host_frame_done() { ++frames_done; }
    // Protected guests: roots bound to domains, private frames at their gfns.
    std::map<std::uint64_t, std::uint16_t> bound_roots;
    std::map<std::uint64_t, std::pair<std::uint16_t, std::uint64_t>> private_frames; // pfn -> dom, gfn
    std::uint16_t root_domain(std::uint64_t root) {
        const auto it = bound_roots.find(root);
        return it == bound_roots.end() ? 0 : it->second;
    }
    bool private_frame(std::uint64_t pfn, std::uint64_t gfn, std::uint16_t dom) {
        const auto it = private_frames.find(pfn);
        return it != private_frames.end() && it->second == std::pair{dom, gfn};
    }
    // Protected vCPUs' records (pstate.hpp): 45 KiB, on the heap.
    std::unique_ptr<svm::PstateTable> pstate_table = std::make_unique<svm::PstateTable>();
    svm::PstateTable& pstates() { return *pstate_table; }
    bool host_accessible(std::uint64_t gpa) { return !blocked_pfns.count(gpa >> 12); }
    bool take_kick(std::uint32_t cpu) { return kicks.erase(cpu) != 0; }
    void flush_caches() { ++cache_flushes; }
    EventLog& log() { return event_log; }
    vbh_cpu_stats* stats(std::uint32_t cpu) { return cpu < cpus ? &cpu_stats[cpu] : nullptr; }
    vbh_cpu_stats& own_stats(const VcpuState& v) { return cpu_stats[v.cpu]; }
    vbh_cpu_cycles* cycles(std::uint32_t cpu) { return cpu < cpus ? &cpu_cycles[cpu] : nullptr; }
    std::uint32_t nr_cpus() { return cpus; }
    bool try_seal() { return !std::exchange(is_sealed, true); }
    bool sealed() { return is_sealed; }

    // Ports: q35's (FADT: PM1a_CNT 0x604, RESET_REG 0xCF9 = 0x0F, S5 SLP_TYP 0).
    PlatformPorts platform = [] {
        PlatformPorts p;
        p.pm1_cnt[0] = 0x604;
        p.reset_port = 0xcf9;
        p.reset_value = 0x0f;
        p.slp_typ_s5[0] = 0;
        return p;
    }();
    IoState io;
    std::map<std::uint16_t, std::uint32_t> port_value; // what IN returns
    struct Out { std::uint16_t port; std::uint8_t size; std::uint32_t value; };
    std::vector<Out> outs;
    int ins = 0;
    const PlatformPorts& ports() { return platform; }
    IoState& io_state() { return io; }
    std::uint32_t io_in(std::uint16_t port, std::uint8_t) { ++ins; return port_value[port]; }
    void io_out(std::uint16_t port, std::uint8_t size, std::uint32_t v) { outs.push_back({port, size, v}); }
};

static_assert(ExitEnv<FakeEnv>);

inline VcpuState kernel_vcpu(std::uint32_t cpu = 0) {
    VcpuState v;
    v.cpu = cpu;
    v.cpl = 0;
    v.rip = 0xffffffff81000000;
    v.efer = efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme;
    return v;
}

inline Exit vmmcall() { return Exit{ExitReason::hypercall, 3, 0x81, 0, 0}; }

} // namespace vbh::test
