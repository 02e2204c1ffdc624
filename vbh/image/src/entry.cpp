// The image's two entry points (boot.h): init() once, launch() per CPU, plus the
// diagnostics every fatal path ends in.
#include <vbh/arch/cpu.hpp>
#include <vbh/arch/serial.hpp>
#include <vbh/boot.h>
#include <vbh/image/hyp.hpp>

#include "image_abi.h"

static_assert(VBH_IMAGE_MAGIC_ASM == VBH_IMAGE_MAGIC);
static_assert(VBH_ABI_VERSION_ASM == VBH_ABI_VERSION);

namespace vbh::image {

constinit Hyp g;

Status init(vbh_boot_record* br);
Status launch(std::uint32_t cpu, const vbh_guest_entry* entry, std::uint64_t linux_rsp);

[[noreturn]] void fatal(const char* what, std::uint64_t a, std::uint64_t b) {
    arch::Serial::puts("vbh-hyp: FATAL ");
    arch::Serial::puts(what);
    arch::Serial::put(' ');
    arch::Serial::hex(a);
    arch::Serial::put(' ');
    arch::Serial::hex(b);
    arch::Serial::put('\n');
    arch::halt_forever();
}

} // namespace vbh::image

extern "C" [[gnu::visibility("default")]] std::int64_t vbh_init(vbh_boot_record* br) {
    return std::int64_t(vbh::image::init(br));
}

extern "C" std::int64_t vbh_launch(std::uint32_t cpu, const vbh_guest_entry* entry,
                                   std::uint64_t linux_rsp) {
    return std::int64_t(vbh::image::launch(cpu, entry, linux_rsp));
}

// Interrupt frame pushed by isr.S: vector, error code, then the CPU's frame.
struct IsrFrame {
    std::uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern "C" [[noreturn]] void vbh_exception(const IsrFrame* f) {
    using vbh::arch::Serial;
    Serial::puts("vbh-hyp: exception ");
    Serial::dec(f->vector);
    Serial::puts(" err ");
    Serial::hex(f->error);
    Serial::puts(" rip ");
    Serial::hex(f->rip);
    Serial::puts(" cr2 ");
    Serial::hex(vbh::arch::read_cr2());
    Serial::put('\n');
    vbh::arch::halt_forever();
}
