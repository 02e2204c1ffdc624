// Virtual INIT and SIPI, the SVM half (docs/launch.md, "INIT and SIPI"; the state
// machine is vbh/sipi.hpp). take_init() gives the host's control block the state a CPU
// has after INIT (AMD APM vol. 2 §14.1.3 table 14-1, Intel SDM vol. 3 §9.1.1 table
// 9-1): real mode, CS:IP = F000:FFF0 with CS.base FFFF0000, every other segment, GDTR
// and IDTR at base 0 limit FFFFh, CR0 = 6000_0010h, CR2-4 = 0, EFER = 0 (the CPU's
// keeps SVME for VMRUN), RFLAGS = 2, DR6/DR7 at their reset values, EDX = the
// processor signature (CPUID 1 EAX), the other GPRs 0. The host's SVM state goes as
// EFER.SVME = 0 takes it (GIF 1, its guests' state dropped), and a guest of the host
// that was running is abandoned: INIT resets the CPU under it. MSRs other than EFER
// keep their values (INIT leaves them), so do the local APIC's registers: Linux's
// CPU bring-up programs them again. sipi_start() then enters at vector:0000 with
// CS.base = vector << 12, as the SIPI does (SDM §9.4.4.1).
#pragma once

#include <vbh/arch/cpu.hpp>
#include <vbh/svm/nested_state.hpp>

namespace vbh::svm {

// VMCB segment attributes (descriptor bits 47:40 in [7:0]): present, S = 1, accessed;
// data read/write, code execute/read; LDT and busy 16-bit TSS for the system ones.
inline constexpr std::uint16_t attr_data = 0x93, attr_code = 0x9b, attr_ldt = 0x82, attr_tss = 0x83;

inline void take_init(Cpu& c, VcpuState& s) {
    if (l2_active(c))
        c.active = c.l1; // the host's guest is gone with the INIT
    c.host.svme = false;
    c.host.gif = true;
    c.host.nmi_held = false;
    drop_nested_state(c); // flushes every ASID at the next entry too
    hold_host_interrupts(c);
    Vmcb& v = *c.l1.vmcb;
    const Segment data{0, attr_data, 0xffff, 0};
    v.es = v.ss = v.ds = v.fs = v.gs = data;
    v.cs = Segment{0xf000, attr_code, 0xffff, 0xffff0000};
    v.gdtr = v.idtr = Segment{0, 0, 0xffff, 0};
    v.ldtr = Segment{0, attr_ldt, 0xffff, 0};
    v.tr = Segment{0, attr_tss, 0xffff, 0};
    v.cpl = 0;
    v.efer = efer_svme;
    v.cr0 = 0x60000010;
    v.cr2 = v.cr3 = v.cr4 = 0;
    v.dr6 = 0xffff0ff0;
    v.dr7 = 0x400;
    v.rflags = 2;
    v.rip = 0xfff0;
    v.rsp = v.rax = 0;
    v.event_inj = 0;
    v.int_shadow = 0;
    v.vintr = IntCtl::VIrq::set(v.vintr, 0);
    for (std::uint64_t& r : s.gpr)
        r = 0;
    s.set_reg(Gpr::rdx, arch::cpuid(1).eax);
    s.rip = v.rip;
    s.efer = 0;
    s.cpl = 0;
    s.inject = {};
}

inline void sipi_start(Cpu& c, VcpuState& s, std::uint8_t vector) {
    Vmcb& v = *c.l1.vmcb;
    v.cs = Segment{std::uint16_t(vector << 8), attr_code, 0xffff, std::uint64_t(vector) << 12};
    v.rip = s.rip = 0;
}

} // namespace vbh::svm
