// vbh_exitcost KIND N: N synthetic #VMEXITs of one kind (cpuid | hypercall | msr_write |
// npf | clgi | stgi | vmload | vmsave) through the hypervisor's own VMRUN loop. loop.cpp is compiled into this file with
// the image's flags, so what runs per exit is the image's code: before_entry, the SVM
// backend's run/exit/resume (svm/backend.hpp), dispatch_exit() with the real HypEnv
// (env.hpp), the core's dispatcher, the host NPT (ept/ engine over HypFrames) and the
// event log.
// The global state `g` is built the way init() builds it, minus what needs ring 0.
//
// vbh_vmrun (vmrun.S: VMLOAD, VMRUN, #VMEXIT, VMSAVE) is replaced by the "hardware"
// below: it checks what the handler left in the VMCB, then writes the next exit the way
// #VMEXIT does (AMD APM vol. 2 §15.6: EXITCODE, EXITINFO1/2, guest RIP/RAX/CPL/EFER;
// no NEXT_RIP, as under QEMU TCG, docs/platform.md quirk 1). tests/exitcost/run.sh counts
// instructions per exit with callgrind.
#include "../../vbh/image/src/loop.cpp"

#include <vbh/image/paging.hpp>

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

// paging.cpp's image bounds, used only by build_hyp_tables(), which needs ring 0 and is
// not called here.
extern "C" {
char __image_start[1], __text_end[1], __ro_end[1];
}

namespace {

using namespace vbh;
using namespace vbh::image;
using svm::ExitCode;
using svm::Vmcb;

enum class Kind { cpuid, hypercall, msr_write, npf, clgi, stgi, vmload, vmsave };

constexpr std::uint64_t mib = 1ull << 20;
constexpr std::uint64_t hyp_pa = 1024 * mib;    // hypervisor memory (16 MiB, one chunk)
constexpr std::uint64_t hyp_bytes = 16 * mib;
constexpr std::uint64_t donated_pa = 1280 * mib; // a frame the host gave to a domain
constexpr std::uint64_t vmcb_pa = 256 * mib;     // the host's VMLOAD/VMSAVE page (host RAM)
constexpr std::uint64_t kgs_marker = 0xffff888000000000;
constexpr std::uint64_t guest_rip = 0xffffffff81000000;
constexpr std::uint64_t guest_efer = efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme;

struct Run {
    Kind kind = Kind::cpuid;
    std::uint64_t n = 0;     // exits to deliver
    std::uint64_t exits = 0; // delivered so far
    std::uint64_t bad = 0;   // exits whose result in the VMCB was wrong
    std::uint64_t fatals = 0;
    std::uint64_t log0 = 0;  // event log position before the first exit
};

Run run;
void* loop_restart[5]; // __builtin_setjmp buffer: where a CPUID exit's fatal() returns to

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "vbh_exitcost: %s\n", what);
    std::exit(1);
}

HypercallOut hypercall(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                       std::uint64_t a2 = 0) {
    return g.core->dispatch(HypercallRegs{nr, a0, a1, a2, 0}, Cpl{0});
}

// init.cpp's setup_cpus() for CPU 0: the per-CPU block of percpu.hpp.
void setup_cpu0() {
    auto mem = g.frames.alloc_virt(cpu_block_pages);
    if (!mem)
        die("no memory for the per-CPU block");
    auto* block = static_cast<CpuBlock*>(*mem);
    PerCpu* pc = &block->cpu;
    pc->self = pc;
    pc->block = block;
    pc->cpu = 0;
    struct {
        std::uint64_t phys(const void* p) const { return g.mem.phys(p); }
        Result<void*> alloc_contig(std::uint64_t n) { return g.frames.alloc_contig(n); }
    } hyp_mem;
    Backend::setup(pc->hw, block->hw, hyp_mem);
    pc->stats.version = VBH_STATS_VERSION;
    pc->stats.launched = 1;
    auto cycles = g.frames.alloc_virt(1);
    if (!cycles)
        die("no memory for the cycle histogram");
    pc->cycles = static_cast<vbh_cpu_cycles*>(*cycles);
    g.cpus[0] = pc;
}

// A 2 GiB machine like the QEMU guests (RAM minus the legacy hole), one CPU, 40
// physical address bits, 16 MiB of hypervisor memory, a TCG-like SVM (NPT only).
void setup_machine() {
    void* hyp = std::aligned_alloc(page, hyp_bytes);
    if (!hyp)
        die("out of memory");
    std::memset(hyp, 0, hyp_bytes);
    vbh_boot_record& br = g.br;
    br.magic = VBH_BOOT_MAGIC;
    br.abi_version = VBH_ABI_VERSION;
    br.hyp_virt_base = reinterpret_cast<std::uint64_t>(hyp);
    br.hyp_size = hyp_bytes;
    br.nr_hyp_ranges = 1;
    br.hyp_ranges[0] = {hyp_pa, hyp_bytes};
    br.nr_ram_ranges = 2;
    br.ram_ranges[0] = {0, 0x9f000};
    br.ram_ranges[1] = {mib, 2048 * mib - mib};
    br.nr_cpus = 1;
    br.phys_addr_bits = 40;
    g.mem.init(br);
    g.frames.init(g.mem, page, hyp_bytes);
    svm::shared.features = svm::svm_feature_npt;
    // EFER bits as QEMU's EPYC reports them (SYSCALL, NX, FFXSR, LM): svm/msr_policy.hpp.
    svm::shared.msr_caps = {svm::efer_writable_from_cpuid(
                                0x8000001f, 0, (1u << 11) | (1u << 20) | (1u << 25) | (1u << 29), 0),
                            false, 1ull << 40, false};
    setup_cpu0();
    g.cpus[0]->hw.host.svme = true; // the host enabled SVM (kvm_amd loaded)
    if (!build_host_npt())
        die("build_host_npt failed");
    const std::uint64_t bytes = meta_bytes_for(frames_covered(br.ram_ranges, br.nr_ram_ranges));
    auto meta = g.frames.alloc_virt((bytes + page - 1) / page);
    if (!meta)
        die("no memory for the frame table");
    CoreT& core = g.core.emplace(*g.npt, g.direct);
    if (!core.init(CoreConfig{*meta, bytes, br.ram_ranges, br.nr_ram_ranges, br.hyp_ranges,
                              br.nr_hyp_ranges}))
        die("core init failed");
    __atomic_store_n(&g.initialized, 1, __ATOMIC_RELEASE);
}

// The NPF target: one 4 KiB frame donated to a domain, so the host NPT splits down to a
// page table and the blocked-access lookup walks all four levels.
void donate_npf_target() {
    const HypercallOut d = hypercall(VBH_HC_DOMAIN_CREATE, 0);
    if (d.status != Status::ok ||
        hypercall(VBH_HC_HOST_DONATE, donated_pa >> 12, 1, d.out0).status != Status::ok)
        die("donating the NPF target failed");
    if (g.npt->table().lookup(donated_pa))
        die("the donated frame is still mapped for the host");
}

// The host's VMLOAD/VMSAVE page: host RAM, reached through the direct map (VA = PA),
// so the process maps it at that address.
Vmcb& host_vmcb_page() {
    static void* p = [] {
        void* m = mmap(reinterpret_cast<void*>(vmcb_pa), page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (m != reinterpret_cast<void*>(vmcb_pa))
            die("cannot map the VMLOAD/VMSAVE page at its physical address");
        return m;
    }();
    return *static_cast<Vmcb*>(p);
}

// What the handler must have left for the guest after one exit of run.kind.
bool handled(const Vmcb& v, const std::uint64_t* gprs) {
    const bool skipped = v.rip == guest_rip + 3 && v.event_inj == 0; // 0F 01 Dx, no event
    switch (run.kind) {
    case Kind::clgi: return skipped && !g.cpus[0]->hw.host.gif;
    case Kind::stgi: return skipped && g.cpus[0]->hw.host.gif;
    case Kind::vmload: return skipped && v.kernel_gs_base == host_vmcb_page().kernel_gs_base;
    case Kind::vmsave: return skipped && host_vmcb_page().kernel_gs_base == v.kernel_gs_base;
    case Kind::hypercall:
        return v.rax == VBH_OK && gprs[std::size_t(Gpr::rdi)] == VBH_ABI_VERSION &&
               v.rip == guest_rip + 3 && v.event_inj == 0;
    case Kind::msr_write: return v.rip == guest_rip + 2 && v.efer == guest_efer && v.event_inj == 0;
    case Kind::npf: return v.rip == guest_rip && v.event_inj == svm::encode_event(Event::gp(0));
    case Kind::cpuid: return false; // fatal: the loop never re-enters the guest
    }
    return false;
}

// One #VMEXIT of run.kind, as the CPU writes it into the guest VMCB and (vmrun.S) the
// GPR array. The guest repeats the same instruction at the same RIP every time.
void deliver(Vmcb& v, std::uint64_t* gprs) {
    v.rip = guest_rip;
    v.cpl = 0;
    v.efer = guest_efer;
    v.exit_int_info = 0;
    v.exit_info1 = 0;
    v.exit_info2 = 0;
    switch (run.kind) {
    case Kind::cpuid: // CPUID leaf 0; vbh does not intercept CPUID
        v.exit_code = std::uint64_t(ExitCode::cpuid);
        v.rax = 0;
        break;
    case Kind::hypercall: // VMMCALL, VBH_HC_VERSION: the null hypercall
        v.exit_code = std::uint64_t(ExitCode::vmmcall);
        v.rax = VBH_HC_VERSION;
        break;
    case Kind::msr_write: // WRMSR EFER with its current value (APM vol. 2 §15.11)
        v.exit_code = std::uint64_t(ExitCode::msr);
        v.exit_info1 = 1;
        v.rax = std::uint32_t(guest_efer);
        gprs[std::size_t(Gpr::rcx)] = msr_efer;
        gprs[std::size_t(Gpr::rdx)] = guest_efer >> 32;
        break;
    case Kind::npf: // a host read of the donated frame: P = 1, final translation (§15.25.6)
        v.exit_code = std::uint64_t(ExitCode::npf);
        v.exit_info1 = (1ull << 32) | 1;
        v.exit_info2 = donated_pa + 0x123;
        break;
    case Kind::clgi: // the host's CLGI / STGI (kvm_amd around each guest entry)
        v.exit_code = std::uint64_t(ExitCode::clgi);
        break;
    case Kind::stgi:
        v.exit_code = std::uint64_t(ExitCode::stgi);
        break;
    case Kind::vmload: // the host's VMLOAD / VMSAVE of a page of its RAM, a new value each time
        v.exit_code = std::uint64_t(ExitCode::vmload);
        v.rax = vmcb_pa;
        host_vmcb_page().kernel_gs_base = kgs_marker + run.exits;
        break;
    case Kind::vmsave:
        v.exit_code = std::uint64_t(ExitCode::vmsave);
        v.rax = vmcb_pa;
        v.kernel_gs_base = kgs_marker + run.exits;
        break;
    }
}

void check_totals() {
    const vbh_cpu_stats& s = g.cpus[0]->stats;
    const std::uint64_t logged = g.log.next_seq() - run.log0;
    const auto reason = run.kind == Kind::hypercall ? VBH_EXIT_HYPERCALL
                        : run.kind == Kind::msr_write ? VBH_EXIT_MSR_WRITE
                        : run.kind == Kind::npf       ? VBH_EXIT_NPF
                        : run.kind == Kind::cpuid     ? VBH_EXIT_OTHER
                                                      : VBH_EXIT_VIRT_INSN;
    if (run.bad != 0)
        die("a handler left a wrong result in the VMCB");
    std::uint64_t total = 0; // STATS_READ's total_exits (read_stats)
    for (const std::uint64_t n : s.exits)
        total += n;
    if (total != run.n || s.exits[reason] != run.n)
        die("exit counters do not match the exits delivered");
    if (run.kind == Kind::npf && (logged != run.n || s.faults_reflected != run.n))
        die("an NPF was not logged and reflected");
    if (run.kind != Kind::npf && logged != 0)
        die("unexpected log records");
    if (run.kind == Kind::cpuid && run.fatals != run.n)
        die("a CPUID exit was not fatal");
    // Each exit is charged at the next VMRUN, one fake cycle each: all but the last. A
    // fatal exit (cpuid) has no next VMRUN: the loop that opened it never enters again.
    const vbh_exit_cycles& c = g.cpus[0]->cycles->kind[reason];
    const std::uint64_t charged = run.kind == Kind::cpuid ? 0 : run.n - 1;
    if (c.count != charged || c.sum != c.count || c.hist[0] != c.count)
        die("the cycle histogram does not match the exits delivered");
}

[[noreturn]] void finish() {
    check_totals();
    std::printf("vbh_exitcost: %llu exits handled as expected\n",
                static_cast<unsigned long long>(run.n));
    std::fflush(stdout);
    std::exit(0);
}

bool parse_kind(const char* s, Kind& k) {
    static constexpr struct { const char* name; Kind kind; } kinds[] = {
        {"cpuid", Kind::cpuid}, {"hypercall", Kind::hypercall},
        {"msr_write", Kind::msr_write}, {"npf", Kind::npf}, {"clgi", Kind::clgi},
        {"stgi", Kind::stgi}, {"vmload", Kind::vmload}, {"vmsave", Kind::vmsave}};
    for (const auto& e : kinds)
        if (std::strcmp(s, e.name) == 0) {
            k = e.kind;
            return true;
        }
    return false;
}

} // namespace

// The world switch: the previous exit's result is checked, then the next exit delivered.
extern "C" void vbh_vmrun(std::uint64_t* gprs, std::uint64_t, std::uint64_t, std::uint64_t* tsc) {
    Vmcb& v = *g.cpus[0]->hw.l1.vmcb;
    tsc[0] = 2 * run.exits; // a clock that moves: every exit lands in the histogram
    tsc[1] = 2 * run.exits + 1;
    if (run.exits != 0 && run.kind != Kind::cpuid && !handled(v, gprs))
        ++run.bad;
    if (run.exits == run.n)
        finish();
    ++run.exits;
    deliver(v, gprs);
}

namespace vbh::image {

Hyp g;

// One CPU, in the hypervisor: nobody to kick; the next VMRUN flushes (before_entry).
void CrossCpuFlush::operator()() const { __atomic_add_fetch(&g.npt_gen, 1, __ATOMIC_SEQ_CST); }

// The image prints and halts the CPU for good. A synthetic CPUID exit ends here by
// design (ExitReason::other is fatal; check_totals() proves that is why): count it and
// restart the loop from main(), in place of the halt.
[[noreturn]] void fatal(const char* what, std::uint64_t, std::uint64_t) {
    if (run.kind != Kind::cpuid)
        die(what);
    ++run.fatals;
    __builtin_longjmp(loop_restart, 1);
}

// A reset through a trapped port scrubs memory and never returns (reset.cpp): no
// synthetic exit reaches it.
[[noreturn]] void platform_reset(PerCpu*, const Exit&) { die("platform_reset"); }

} // namespace vbh::image

// The ways out of guest mode for good (enter.S, svm/src/vmrun.S) need ring 0; no
// synthetic exit reaches them.
extern "C" [[noreturn]] void vbh_launch_return(std::uint64_t, std::int64_t, std::uint64_t,
                                               std::uint64_t) {
    die("vbh_launch_return");
}
extern "C" [[noreturn]] void vbh_devirt_iret(const std::uint64_t*, const std::uint64_t*,
                                             std::uint64_t) {
    die("vbh_devirt_iret");
}

int main(int argc, char** argv) {
    if (argc != 3 || !parse_kind(argv[1], run.kind)) {
        std::fprintf(stderr, "usage: vbh_exitcost cpuid|hypercall|msr_write|npf|clgi|stgi|vmload|vmsave N\n");
        return 2;
    }
    run.n = std::strtoull(argv[2], nullptr, 10);
    setup_machine();
    if (run.kind == Kind::npf)
        donate_npf_target();
    if (run.kind == Kind::vmload || run.kind == Kind::vmsave)
        host_vmcb_page();
    run.log0 = g.log.next_seq();
    __builtin_setjmp(loop_restart);
    image::vcpu_loop(g.cpus[0]);
}
