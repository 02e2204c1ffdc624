// Which host port writes reach the platform: the reset and sleep ports the I/O
// permission map traps (docs/launch.md, "I/O ports"; docs/threats.md). Pure and
// vendor-neutral, hosted-tested in tests/exit/io_policy_test.cpp.
//
// A warm reset keeps RAM (and QEMU keeps it too: docs/platform.md), so the hypervisor
// and every donated frame would survive into whatever the next boot runs. Sleep hands
// the CPU back to firmware: S3 resumes the boot CPU natively at the OS waking vector,
// S4 writes memory to disk first. Hence:
//   reset (0xCF9 RST_CPU, 0x92 INIT_NOW 0->1, 8042 pulse/output port, FADT RESET_REG)
//          -> scrub hypervisor memory and every donated frame, then let it through;
//   S5 power-off -> the same (DRAM decays slowly and an emulator or a hypervisor below
//          may keep it: power-off is treated as a reset that may preserve RAM);
//   any other SLP_EN write (S1..S4, unknown types) -> dropped, logged;
//   string I/O to a trapped port -> refused (#GP), logged: no host needs it;
//   everything else on a trapped port -> performed by the hypervisor as written.
#pragma once

#include <vbh/boot.h>

#include <cstdint>
#include <utility>

namespace vbh {

// The ports, copied from the boot record at init and never re-read (boot.h).
struct PlatformPorts {
    std::uint16_t pm1_cnt[2] = {};  // PM1a, PM1b control; 0 = none
    std::uint16_t reset_port = 0;   // FADT RESET_REG in I/O space; 0 = none
    std::uint8_t reset_value = 0;
    std::uint8_t slp_typ_s5[2] = {VBH_SLP_TYP_NONE, VBH_SLP_TYP_NONE}; // a, b

    static PlatformPorts from(const vbh_boot_record& br) {
        PlatformPorts p;
        p.pm1_cnt[0] = br.acpi_pm1a_cnt;
        p.pm1_cnt[1] = br.acpi_pm1b_cnt;
        if (br.acpi_reset_space == VBH_ACPI_SPACE_IO && br.acpi_reset_port)
            p.reset_port = std::uint16_t(br.acpi_reset_port);
        p.reset_value = br.acpi_reset_value;
        p.slp_typ_s5[0] = br.acpi_slp_typ[VBH_SLP_S5][0];
        p.slp_typ_s5[1] = br.acpi_slp_typ[VBH_SLP_S5][1];
        return p;
    }
};

// Fixed legacy ports (ICH9 datasheet §13.7.5 RST_CNT; IBM PC/AT System Control Port
// A; 8042 controller command/data, IBM PS/2 technical reference).
inline constexpr std::uint16_t port_kbc_data = 0x60;
inline constexpr std::uint16_t port_kbc_cmd = 0x64;
inline constexpr std::uint16_t port_sysctl_a = 0x92;
inline constexpr std::uint16_t port_pci_cfg_addr = 0xcf8;
inline constexpr std::uint16_t port_rst_cnt = 0xcf9;

inline constexpr std::uint8_t rst_cnt_rst_cpu = 1u << 2; // writing 1 resets
inline constexpr std::uint8_t sysctl_a_init_now = 1u << 0;
inline constexpr std::uint8_t kbc_cmd_write_outport = 0xd1;
inline constexpr std::uint8_t kbc_outport_reset_n = 1u << 0; // 0 = assert reset
// ACPI 6.5 §4.8.3.2.1 PM1 control: SLP_TYP [12:10], SLP_EN [13].
inline constexpr std::uint16_t pm1_slp_en = 1u << 13;
constexpr std::uint8_t pm1_slp_typ(std::uint16_t v) { return (v >> 10) & 7; }

// One IN/OUT as the exit described it.
struct IoAccess {
    std::uint16_t port;
    std::uint8_t size;  // 1, 2 or 4 bytes
    bool in;
    bool string;        // INS/OUTS (with or without REP)
    std::uint32_t value; // OUT: the bytes written (low `size` bytes)
};

// The trapped ports, for the permission map (the map bit of every byte an access
// touches is checked, AMD APM vol. 2 §15.10.1). Returns the count written to out.
inline constexpr unsigned max_trapped_ports = 10;
inline unsigned trapped_ports(const PlatformPorts& p, std::uint16_t (&out)[max_trapped_ports]) {
    unsigned n = 0;
    auto add = [&](std::uint16_t port) {
        for (unsigned i = 0; i < n; ++i)
            if (out[i] == port)
                return;
        if (port && n < max_trapped_ports)
            out[n++] = port;
    };
    add(port_kbc_data);
    add(port_kbc_cmd);
    add(port_sysctl_a);
    add(port_rst_cnt);
    add(p.reset_port);
    for (std::uint16_t pm1 : p.pm1_cnt)
        if (pm1) {
            add(pm1);
            add(std::uint16_t(pm1 + 1)); // SLP_EN sits in the high byte
        }
    return n;
}

enum class IoVerdict : std::uint8_t {
    perform,     // do the access as written
    reset,       // scrub, then perform: the platform resets or powers off
    drop_sleep,  // a sleep request: dropped, logged
    refuse,      // string I/O to a trapped port: #GP, logged
};

// The byte an access writes to `port`, if it covers it.
constexpr bool writes_byte(const IoAccess& a, std::uint16_t port, std::uint8_t& byte) {
    if (a.in || port < a.port || port - a.port >= a.size)
        return false;
    byte = std::uint8_t(a.value >> (8 * (port - a.port)));
    return true;
}

// State the 8042 decision needs across exits: a WRITE OUTPUT PORT command written to
// 0x64 makes the next 0x60 byte the output port, whose bit 0 drives RESET#.
struct KbcState {
    bool outport_next = false;
};

// old_sysctl_a: the current value of port 0x92 (INIT_NOW resets on a 0 -> 1 edge).
inline IoVerdict classify(const PlatformPorts& p, const IoAccess& a, KbcState& kbc,
                          std::uint8_t old_sysctl_a) {
    if (a.string)
        return IoVerdict::refuse;
    if (a.in)
        return IoVerdict::perform;
    std::uint8_t b = 0;
    // A 32-bit access at 0xCF8 is PCI CONFIG_ADDRESS, not RST_CNT (ICH9 §13.1).
    if (!(a.port == port_pci_cfg_addr && a.size == 4) && writes_byte(a, port_rst_cnt, b) &&
        (b & rst_cnt_rst_cpu))
        return IoVerdict::reset;
    if (writes_byte(a, port_sysctl_a, b) && (b & sysctl_a_init_now) &&
        !(old_sysctl_a & sysctl_a_init_now))
        return IoVerdict::reset;
    if (p.reset_port && writes_byte(a, p.reset_port, b) && b == p.reset_value)
        return IoVerdict::reset;
    if (writes_byte(a, port_kbc_cmd, b)) {
        kbc.outport_next = b == kbc_cmd_write_outport;
        // Pulse output port commands F0h-FFh: a 0 in bit 0 pulses RESET#.
        if (b >= 0xf0 && !(b & 1))
            return IoVerdict::reset;
    }
    if (writes_byte(a, port_kbc_data, b) && std::exchange(kbc.outport_next, false) &&
        !(b & kbc_outport_reset_n))
        return IoVerdict::reset;
    for (unsigned i = 0; i < 2; ++i) {
        const std::uint16_t pm1 = p.pm1_cnt[i];
        std::uint8_t hi = 0;
        if (!pm1 || !writes_byte(a, std::uint16_t(pm1 + 1), hi))
            continue;
        const auto v = std::uint16_t(hi << 8);
        if (!(v & pm1_slp_en))
            continue;
        return pm1_slp_typ(v) == p.slp_typ_s5[i] ? IoVerdict::reset : IoVerdict::drop_sleep;
    }
    return IoVerdict::perform;
}

} // namespace vbh
