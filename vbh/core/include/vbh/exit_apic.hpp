// A host write to its xAPIC page (docs/launch.md, "Local APIC writes"). The page is
// read-only in the host NPT, so the write is an NPF exit: the hypervisor reads the
// instruction at the host's RIP through the host's own page tables (guest_walk.hpp,
// only host-owned RAM), decodes the store (mmio_store.hpp: MOV or XCHG of 32 bits,
// the forms Linux's APIC accessors compile to), checks it (apic_write.hpp) and
// performs, emulates or drops it, then moves RIP past it. An instruction it cannot
// read or decode, or an NPF on the page that is not a write, gets #GP(0) and a log
// entry: the host made that access, not the hypervisor.
#pragma once

#include <vbh/apic_write.hpp>
#include <vbh/exit_log.hpp>
#include <vbh/exit_types.hpp>
#include <vbh/log.h>
#include <vbh/mmio_store.hpp>
#include <vbh/vcpu.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh {

// The bytes of the host's instruction at its RIP (ExitEnv::fetch_insn).
struct InsnBytes {
    std::uint8_t n = 0;       // readable bytes, at most 15
    bool long_mode64 = false; // CS.L and EFER.LMA: the decoder's mode
};

inline constexpr std::uint64_t npf_write = 1u << 1; // EXITINFO1 bit 1 (APM §15.25.6)

template <class E>
[[gnu::noinline, gnu::cold]] ExitAction handle_apic_write(VcpuState& v, const Exit x, E& env) {
    const std::uint32_t reg = std::uint32_t(x.gpa & 0xfff);
    std::uint8_t bytes[15];
    const InsnBytes got = env.fetch_insn(v, bytes);
    const MmioStore st = decode_mmio_store(bytes, got.n, got.long_mode64);
    if (!st || !(x.qual & npf_write)) {
        env.log().record(VBH_LOG_APIC_DENIED, v.cpu, reg, v.rip,
                         std::uint64_t(st.fault) << 32 | got.n);
        v.inject = Event::gp(0);
        return ExitAction::resume;
    }
    const std::uint32_t value = mmio_store_value(st, v.gpr);
    const std::uint32_t icr_hi = env.apic_read(apic::reg_icr_hi);
    // A register is 32 bits at a 16-byte boundary (SDM §11.4.1): anything else is
    // not a register write and goes nowhere.
    const apic::Send s = (reg & 0xf) == 0 ? apic::classify(reg, value, icr_hi, false)
                                          : apic::Send{apic::Verdict::refuse};
    if (st.op == MmioStore::Op::xchg)
        mmio_xchg_load(st, v.gpr, env.apic_read(reg & ~0xfu));
    v.rip += st.len;
    switch (s.verdict) {
    case apic::Verdict::perform: env.apic_write(reg, value); break;
    case apic::Verdict::init:
    case apic::Verdict::sipi: env.apic_send(v, s, value); break;
    case apic::Verdict::drop: break;
    case apic::Verdict::refuse:
        env.log().record(VBH_LOG_APIC_DENIED, v.cpu, reg, v.rip, value | std::uint64_t(icr_hi) << 32);
        break;
    }
    return ExitAction::resume;
}

} // namespace vbh
