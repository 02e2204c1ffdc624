// libFuzzer target: nested SVM's check-and-build step (vbh/svm/nested.hpp) on a hostile
// VMCB12. The input edits a VMCB12 that passes (KVM's shape for a 64-bit guest) at any
// byte or at the fields that matter, picks the CPU's capabilities and the host's block,
// then runs check_vmcb12() and, if it passes, build_l2() and reflect_exit(). Invariants:
//  - the L2 block's control area holds no byte of VMCB12 that is not a named, copied
//    field: its physical addresses are exactly vbh's (NPT root, merged maps), every
//    other pointer (AVIC, VMSA, GHCB) and every reserved byte is zero;
//  - vbh's required intercepts are set; the ASID is neither 0 nor the host's own;
//  - the L2 block passes the check itself (with nested paging allowed: vbh's NPT);
//  - the SVM instructions, INTR, NMI and SHUTDOWN of the L2 are always the host's, and
//    the host never gets an exit it did not intercept;
//  - reflecting any exit writes only what #VMEXIT writes (vmexit_spans): vbh's
//    addresses, ASID, TSC offset and intercepts never reach VMCB12.
#include "byte_reader.hpp"
#include "harness.hpp"

#include <vbh/msr.hpp>
#include <vbh/svm/nested.hpp>
#include <vbh/svm/nested_asid.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using namespace vbh;
using namespace vbh::svm;

// The input decoding and the byte-by-byte comparisons over a 4 KiB VMCB below are
// HARNESS code (they paid a comparison callback per byte).

[[noreturn]] void fail(const char* what, std::uint64_t detail) {
    std::fprintf(stderr, "invariant: %s (%#llx)\n", what, static_cast<unsigned long long>(detail));
    std::abort();
}

// vbh's own addresses: below 4 GiB, as vbh's memory is, so below any MAXPHYADDR.
constexpr std::uint64_t npt_root = 0x0abc'0000, merged_msrpm = 0x0abd'0000, merged_iopm = 0x0abe'0000;
constexpr std::uint32_t l1_asid = 1;

HARNESS void valid_vmcb12(Vmcb& v) {
    std::memset(&v, 0, sizeof v);
    v.icpt_misc3 = host_required3 | icpt3::cpuid | icpt3::ioio_prot | icpt3::msr_prot;
    v.icpt_misc4 = host_required4 | icpt4::stgi | icpt4::clgi | icpt4::vmmcall;
    v.iopm_pa = 0x7000'0000;
    v.msrpm_pa = 0x7000'4000;
    v.asid_tlb = Asid::set(0, 5);
    v.vintr = IntCtl::VIntrMasking::set(0, 1);
    v.cs = {0x10, 0x29b, 0xffffffff, 0};
    v.efer = efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme;
    v.cr0 = 0x80010031;
    v.cr4 = 0x20;
    v.dr7 = 0x400;
    v.rflags = 2;
    v.g_pat = 0x0007040600070406;
}

// Offsets of the fields worth hitting more often than a random byte.
constexpr std::uint16_t hot[] = {
    0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x040, 0x048, 0x050, 0x058, 0x060, 0x068,
    0x090, 0x098, 0x0a0, 0x0a8, 0x0b0, 0x0b8, 0x0c0, 0x0e0, 0x0f0, 0x0f8, 0x108, 0x410,
    0x4d0, 0x548, 0x550, 0x558, 0x560, 0x568, 0x5e0, 0x668, 0x670};

HARNESS void edit(Vmcb& v, fuzz::ByteReader& in) {
    auto* bytes = reinterpret_cast<std::uint8_t*>(&v);
    const std::uint8_t how = in.u8();
    std::size_t off = how & 1 ? hot[in.u8() % (sizeof hot / sizeof hot[0])] : in.u16() % 4089u;
    std::uint64_t word;
    std::memcpy(&word, bytes + off, 8);
    switch ((how >> 1) % 4) {
    case 0: word ^= 1ull << (in.u8() % 64); break;
    case 1: word = in.u64(); break;
    case 2: word |= 1ull << (in.u8() % 64); break;
    default: word &= ~(1ull << (in.u8() % 64)); break;
    }
    std::memcpy(bytes + off, &word, 8);
}

HARNESS NestedCaps read_caps(fuzz::ByteReader& in) {
    NestedCaps c{};
    c.phys_bits = std::uint8_t(32 + in.u8() % 21);
    c.cr4_allowed = 0x3fffff & ~(in.u8() % 4 == 0 ? in.u64() & ~0x20ull : 0);
    c.efer_allowed = efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme | efer_ffxsr;
    c.svm_features = std::uint32_t(in.u8() % 4 == 0 ? in.u64() : svm_feature_npt | svm_feature_vgif);
    c.nested_paging = in.u8() & 1;
    return c;
}

// Byte masks over a VMCB, built once: 1 where build_l2() may write a control byte, 1
// where reflect_exit() may write (vmexit_spans).
struct Masks {
    std::uint8_t built[sizeof(Vmcb)] = {};
    std::uint8_t reflected[sizeof(Vmcb)] = {};
    Masks() {
        constexpr VmcbSpan copied[] = {{0x000, 0x018}, {0x03c, 0x070}, {0x090, 0x098},
                                       {0x0a8, 0x0b8}, {0x0c8, 0x0d0}};
        for (const VmcbSpan& s : copied)
            std::memset(built + s.first, 1, s.end - s.first);
        for (const VmcbSpan& s : vmexit_spans)
            std::memset(reflected + s.first, 1, s.end - s.first);
    }
};
const Masks masks;

// The first byte i < n with b[i] != a[i] where mask[i] is 0, or n.
HARNESS std::size_t first_diff_outside(const void* a, const void* b, const std::uint8_t* mask, std::size_t n) {
    const auto* x = static_cast<const std::uint8_t*>(a);
    const auto* y = static_cast<const std::uint8_t*>(b);
    for (std::size_t i = 0; i < n; ++i)
        if (!mask[i] && x[i] != y[i])
            return i;
    return n;
}

void check_l2(const Vmcb& v12, Vmcb& l2, const NestedCaps& caps, const AsidMap::Grant& g) {
    static const std::uint8_t zero[0x400] = {};
    if (const std::size_t i = first_diff_outside(&l2, zero, masks.built, 0x400); i != 0x400)
        fail("control byte outside the named fields", i);
    if (l2.n_cr3 != npt_root || l2.msrpm_pa != merged_msrpm || l2.iopm_pa != merged_iopm)
        fail("a physical address that is not vbh's", l2.n_cr3);
    if (l2.np_ctl != NpEnable::mask)
        fail("np_ctl beyond NP_ENABLE", l2.np_ctl);
    if ((l2.icpt_misc3 & l2_required3) != l2_required3 || (l2.icpt_misc4 & l2_required4) != l2_required4 ||
        (l2.icpt_misc4 & gif_intercepts(l2)) != gif_intercepts(l2))
        fail("a required intercept is clear", l2.icpt_misc4);
    const std::uint64_t asid = Asid::get(l2.asid_tlb);
    if (asid == 0 || asid == l1_asid || asid != g.asid)
        fail("ASID 0, L1's, or not the one assigned", asid);
    NestedCaps own = caps;
    own.nested_paging = true;
    if (const Vmcb12Error e = check_vmcb12(l2, own); e != Vmcb12Error::ok)
        fail("the L2 block fails the check", std::uint64_t(e));
    constexpr ExitCode hosts[] = {ExitCode::intr, ExitCode::nmi, ExitCode::shutdown, ExitCode::vmrun,
                                  ExitCode::vmload, ExitCode::vmsave, ExitCode::skinit, ExitCode::invlpga};
    for (ExitCode c : hosts) {
        l2.exit_code = std::uint64_t(c);
        if (!host_wants_exit(v12, l2, {nullptr, nullptr}, 0))
            fail("vbh would handle an exit only the host may", std::uint64_t(c));
    }
    l2.exit_code = 0;
}

// reflect_exit() of an L2 that ran: everything else of VMCB12 stays the host's.
void check_reflect(const Vmcb& l2_built, Vmcb& v12, Vmcb& l1, fuzz::ByteReader& in) {
    static Vmcb l2, before;
    std::memcpy(&l2, &l2_built, sizeof l2);
    for (int n = in.u8() % 8; n > 0; --n)
        edit(l2, in);
    // Routing any exit reads the host's maps in bounds (ASan) and never hands the host an
    // exit it did not intercept.
    static std::uint8_t msrpm[msrpm_bytes], iopm[iopm_bytes];
    msrpm[in.u16() % msrpm_bytes] = in.u8();
    iopm[in.u16() % iopm_bytes] = in.u8();
    const std::uint64_t code = l2.exit_code;
    if (host_wants_exit(v12, l2, {msrpm, iopm}, std::uint32_t(in.u64())) && !is_vmexit_invalid(code)) {
        const std::uint32_t words[] = {v12.icpt_cr,    v12.icpt_dr,    v12.icpt_exc,
                                       v12.icpt_misc3, v12.icpt_misc4, v12.icpt_misc5};
        if (code >= intercept_codes || !((words[code / 32] >> (code % 32)) & 1))
            fail("the host gets an exit it did not intercept", code);
    }
    std::memcpy(&before, &v12, sizeof before);
    reflect_exit(l2, v12, l1);
    if (const std::size_t i = first_diff_outside(&before, &v12, masks.reflected, sizeof v12); i != sizeof v12)
        fail("reflect wrote a byte outside vmexit_spans", i);
    const std::uint64_t back = IntCtl::VTpr::mask | IntCtl::VIrq::mask | IntCtl::VGif::mask;
    if ((before.vintr ^ v12.vintr) & ~back)
        fail("reflect changed the host's interrupt control", v12.vintr);
    if (v12.event_inj != 0 || v12.exit_code != l2.exit_code)
        fail("EVENTINJ kept or EXITCODE lost", v12.event_inj);
    if (std::memcmp(&before.fs, &v12.fs, sizeof v12.fs) != 0 || before.lstar != v12.lstar)
        fail("reflect wrote VMLOAD state into VMCB12", v12.lstar);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Vmcb v12, l1, l2;
    fuzz::ByteReader in{data, size};
    const NestedCaps caps = read_caps(in);
    valid_vmcb12(v12);
    for (int n = in.u8() % 16; n > 0; --n)
        edit(v12, in);
    std::memset(&l1, 0, sizeof l1);
    l1.fs.base = in.u64();
    l1.lstar = in.u64();
    l1.tsc_offset = in.u64();
    l1.g_pat = 0x0007040600070406;
    l1.asid_tlb = Asid::set(0, l1_asid);

    const Vmcb12Error e = check_vmcb12(v12, caps);
    if (e != check_vmcb12(v12, caps))
        fail("check is not a function of its input", std::uint64_t(e));
    if (e != Vmcb12Error::ok) {
        vmexit_invalid(v12);
        if (!is_vmexit_invalid(v12.exit_code))
            fail("VMEXIT_INVALID not written", v12.exit_code);
        return 0;
    }
    AsidMap asids;
    if (!asids.init(3 + in.u8() % 64, l1_asid))
        fail("no ASID", 0);
    AsidMap::Grant g{};
    for (int n = 1 + in.u8() % 8; n > 0; --n)
        g = asids.assign(in.u8() % 4 ? std::uint32_t(in.u8()) : Asid::get(v12.asid_tlb));
    g = asids.assign(std::uint32_t(Asid::get(v12.asid_tlb)));
    build_l2(v12, l1, caps, {npt_root, merged_msrpm, merged_iopm, g.asid, g.flush}, l2);
    check_l2(v12, l2, caps, g);
    check_reflect(l2, v12, l1, in);
    return 0;
}
