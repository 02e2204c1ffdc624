#include "long_mode.hpp"

namespace vmm {

kvm_segment code_segment() {
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xFFFFFFFF;
    s.selector = VMM_CODE_SEL;
    s.type = 0xB;  // execute/read, accessed
    s.present = 1;
    s.dpl = 0;
    s.db = 0;      // must be 0 when L is 1
    s.s = 1;
    s.l = 1;
    s.g = 1;
    return s;
}

kvm_segment data_segment() {
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xFFFFFFFF;
    s.selector = VMM_DATA_SEL;
    s.type = 0x3;  // read/write, accessed
    s.present = 1;
    s.dpl = 0;
    s.db = 1;
    s.s = 1;
    s.l = 0;
    s.g = 1;
    return s;
}

std::uint64_t descriptor(const kvm_segment& s) {
    // With G set the 20-bit limit counts 4 KiB units.
    const std::uint64_t limit = s.g ? s.limit >> 12 : s.limit;
    std::uint64_t d = limit & 0xFFFF;
    d |= (s.base & 0xFFFFFFull) << 16;
    d |= std::uint64_t{s.type & 0xFu} << 40;
    d |= std::uint64_t{s.s & 1u} << 44;
    d |= std::uint64_t{s.dpl & 3u} << 45;
    d |= std::uint64_t{s.present & 1u} << 47;
    d |= ((limit >> 16) & 0xF) << 48;
    d |= std::uint64_t{s.avl & 1u} << 52;
    d |= std::uint64_t{s.l & 1u} << 53;
    d |= std::uint64_t{s.db & 1u} << 54;
    d |= std::uint64_t{s.g & 1u} << 55;
    d |= ((s.base >> 24) & 0xFF) << 56;
    return d;
}

Gdt gdt() { return {0, descriptor(code_segment()), descriptor(data_segment())}; }

kvm_sregs long_mode_sregs(const kvm_sregs& reset, std::uint64_t cr3, std::uint64_t gs_base) {
    kvm_sregs s = reset;
    s.cs = code_segment();
    s.ds = s.es = s.fs = s.ss = s.gs = data_segment();
    s.gs.base = gs_base;
    s.gdt.base = VMM_GDT;
    s.gdt.limit = sizeof(Gdt) - 1;
    s.idt.base = 0;  // the payload loads its own IDT first thing
    s.idt.limit = 0;
    s.cr0 = cr0_pe | cr0_et | cr0_ne | cr0_wp | cr0_pg;
    s.cr3 = cr3;
    s.cr4 = cr4_pae;
    s.efer = efer_lme | efer_lma;
    return s;
}

} // namespace vmm
