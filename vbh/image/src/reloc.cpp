// Self-relocation (System V x86-64 psABI §4.4): the image is linked at 0 as a
// position-independent executable; the only dynamic relocations the build allows
// are R_X86_64_RELATIVE (check-image.sh), applied here for base = hyp_virt_base.
// Runs first in init, before anything reads a pointer from data. Idempotent.
#include <cstdint>

extern "C" char __image_start[];

namespace vbh::image {

struct Rela {
    std::uint64_t offset;
    std::uint64_t info;
    std::int64_t addend;
};

extern "C" const Rela __rela_start[], __rela_end[];

inline constexpr std::uint32_t r_x86_64_relative = 8;

bool relocate_self() {
    const auto base = reinterpret_cast<std::uint64_t>(__image_start);
    for (const Rela* r = __rela_start; r < __rela_end; ++r) {
        if (std::uint32_t(r->info) != r_x86_64_relative)
            return false;
        *reinterpret_cast<volatile std::uint64_t*>(base + r->offset) = base + std::uint64_t(r->addend);
    }
    return true;
}

} // namespace vbh::image
