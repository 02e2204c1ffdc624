// SVM <-> vendor-neutral exit vocabulary: EXITCODE/EXITINFO -> vbh::Exit, and
// vbh::Event -> EVENTINJ. Pure functions over the VMCB, hosted-tested (tests/exit).
#pragma once

#include <vbh/exit.hpp>
#include <vbh/svm/vmcb.hpp>

#include <cstdint>

namespace vbh::svm {

// Length of the intercepted instruction: NEXT_RIP when the CPU saves it (CPUID
// 8000_000Ah EDX[3], APM vol. 2 §15.7.1), else the known encodings (QEMU TCG has no
// NRIP save: docs/platform.md quirk 1): VMMCALL 0F 01 D9, RDMSR 0F 32, WRMSR 0F 30,
// INVD 0F 08.
inline std::uint8_t insn_len(const Vmcb& v, std::uint32_t features, std::uint8_t fixed) {
    if ((features & svm_feature_nrips) && v.next_rip > v.rip && v.next_rip - v.rip <= 15)
        return std::uint8_t(v.next_rip - v.rip);
    return fixed;
}

// IOIO: the access in IoQual terms; the length from EXITINFO2, which holds the next
// RIP for every IOIO exit (§15.10.2; QEMU TCG writes it too: docs/platform.md). A
// length that is not 1..15 is passed on as 0 and refused by the handler.
inline Exit translate_io(const Vmcb& v) {
    using I = IoioInfo;
    const std::uint64_t i = v.exit_info1;
    const std::uint64_t size = I::Sz32::test(i) ? 4 : I::Sz16::test(i) ? 2 : I::Sz8::test(i) ? 1 : 0;
    std::uint64_t q = IoQual::Port::make(I::Port::get(i)) | IoQual::Size::make(size);
    q |= IoQual::In::make(I::In::get(i)) | IoQual::String::make(I::String::get(i));
    const std::uint64_t len = v.exit_info2 - v.rip;
    return {ExitReason::io, std::uint8_t(len >= 1 && len <= 15 ? len : 0), v.exit_code, q, 0};
}

// EXITINFO1 of an MSR exit: 0 = RDMSR, 1 = WRMSR (§15.11). NPF: EXITINFO1 = error
// code, EXITINFO2 = guest-physical address (§15.25.6).
inline Exit translate(const Vmcb& v, std::uint32_t features) {
    switch (ExitCode(v.exit_code)) {
    case ExitCode::vmmcall: return {ExitReason::hypercall, insn_len(v, features, 3), v.exit_code, 0, 0};
    case ExitCode::msr:
        return {v.exit_info1 ? ExitReason::msr_write : ExitReason::msr_read,
                insn_len(v, features, 2), v.exit_code, 0, 0};
    case ExitCode::npf: return {ExitReason::npf, 0, v.exit_code, v.exit_info1, v.exit_info2};
    case ExitCode::nmi: return {ExitReason::nmi, 0, v.exit_code, 0, 0};
    case ExitCode::vmrun:
    case ExitCode::vmload:
    case ExitCode::vmsave:
    case ExitCode::stgi:
    case ExitCode::clgi:
    case ExitCode::skinit:
    case ExitCode::invlpga: return {ExitReason::virt_insn, insn_len(v, features, 3), v.exit_code, 0, 0};
    case ExitCode::shutdown: return {ExitReason::shutdown, 0, v.exit_code, 0, 0};
    case ExitCode::ioio: return translate_io(v);
    case ExitCode::init: return {ExitReason::init, 0, v.exit_code, 0, 0};
    // qual = 1: certainly INVD (logged); a WBINVD exit may be an INVD under QEMU 7.2.
    case ExitCode::invd: return {ExitReason::invd, insn_len(v, features, 2), v.exit_code, 1, 0};
    case ExitCode::wbinvd: return {ExitReason::invd, insn_len(v, features, 2), v.exit_code, 0, 0};
    default: return {ExitReason::other, 0, v.exit_code, v.exit_info1, v.exit_info2};
    }
}

// EVENTINJ (§15.20): exceptions are type 3 with their error code, NMI type 2.
inline std::uint64_t encode_event(const Event& e) {
    using E = EventInj;
    std::uint64_t r = E::Vector::set(0, e.vector);
    r = E::Type::set(r, e.type == Event::Type::nmi ? E::type_nmi : E::type_exception);
    r = E::Ev::set(r, e.has_error);
    r = E::Error::set(r, e.error);
    return E::Valid::set(r, 1);
}

} // namespace vbh::svm
