// The SVM MSR permission map (AMD APM vol. 2 §15.11): exactly the intercepts the
// policy needs, at the manual's offsets, and nothing else.
#include <vbh/exit_msr.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace vbh::svm {
void build_msrpm(std::uint8_t* map);
}

namespace vbh {
namespace {

bool bit(const std::array<std::uint8_t, 8192>& m, std::size_t b) { return (m[b / 8] >> (b % 8)) & 1; }

TEST(Msrpm, InterceptsExactlyEferWritesVmCrAndHsave) {
    std::array<std::uint8_t, 8192> map{};
    svm::build_msrpm(map.data());
    // Range C000_0000h starts at byte 800h; EFER = C000_0080h -> bits 2*80h, +1.
    const std::size_t efer = 0x800 * 8 + 2 * 0x80;
    EXPECT_FALSE(bit(map, efer));    // reads come from the VMCB copy
    EXPECT_TRUE(bit(map, efer + 1)); // writes
    // Range C001_0000h starts at byte 1000h.
    const std::size_t vm_cr = 0x1000 * 8 + 2 * 0x114;
    const std::size_t hsave = 0x1000 * 8 + 2 * 0x117;
    EXPECT_TRUE(bit(map, vm_cr));
    EXPECT_TRUE(bit(map, vm_cr + 1));
    EXPECT_TRUE(bit(map, hsave));
    EXPECT_TRUE(bit(map, hsave + 1));
    EXPECT_EQ(map[0x1045], 0xc3); // VM_CR read/write in bits 1:0, HSAVE in 7:6
    std::size_t set = 0;
    for (std::size_t b = 0; b < map.size() * 8; ++b)
        set += bit(map, b);
    EXPECT_EQ(set, 5u);
}

} // namespace
} // namespace vbh
