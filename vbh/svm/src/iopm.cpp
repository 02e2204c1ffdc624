// The I/O permission map (AMD APM vol. 2 §15.10.1): one bit per port, 12 KiB so that
// an access starting at 0xFFFF still finds the bits of its upper bytes; a set bit
// intercepts. The CPU checks the bit of every byte an access touches, so trapping a
// port also traps wider accesses that cover it (a 32-bit OUT to 0xCF8 covers 0xCF9:
// io_policy.hpp tells them apart). Only the reset and sleep ports are set
// (io_policy.hpp, docs/launch.md "I/O ports"); everything else runs natively.
#include <vbh/io_policy.hpp>

#include <cstdint>

namespace vbh::svm {

void build_iopm(std::uint8_t* map, const PlatformPorts& p) {
    std::uint16_t ports[max_trapped_ports];
    const unsigned n = trapped_ports(p, ports);
    for (unsigned i = 0; i < n; ++i)
        map[ports[i] / 8] |= std::uint8_t(1u << (ports[i] % 8));
}

} // namespace vbh::svm
