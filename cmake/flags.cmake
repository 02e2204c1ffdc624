# Compiler flags for the two builds of the core.
#
# freestanding: what the hypervisor image is compiled with. No exceptions, no RTTI,
#   no red zone (exits and exceptions push onto the hypervisor stack), no SSE/x87
#   (the hypervisor never saves the guest's FPU state), no stack protector (it reads
#   %gs, which holds the guest's value after #VMEXIT), no libstdc++ runtime.
# Header-only parts of libstdc++ (<atomic>, <concepts>, <type_traits>, <bit>) are allowed;
# anything that needs its runtime fails at the image link.
# hosted: the same sources for tests, with ASan/UBSan when VBH_SANITIZE is on.

set(VBH_FREESTANDING_FLAGS
    -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics
    -fno-asynchronous-unwind-tables -fno-unwind-tables
    -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387
    -fno-stack-protector -fno-builtin -fPIE -fno-plt -fno-jump-tables
    -fno-common -O2 -g
    -Wall -Wextra -Werror)

set(VBH_HOSTED_WARNINGS -Wall -Wextra -Werror)
set(VBH_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

function(vbh_freestanding target)
  target_compile_options(${target} PRIVATE ${VBH_FREESTANDING_FLAGS})
  target_compile_definitions(${target} PRIVATE VBH_FREESTANDING=1)
endfunction()

function(vbh_hosted target)
  target_compile_options(${target} PRIVATE ${VBH_HOSTED_WARNINGS})
  if(VBH_SANITIZE)
    target_compile_options(${target} PRIVATE ${VBH_SANITIZE_FLAGS})
    target_link_options(${target} PRIVATE ${VBH_SANITIZE_FLAGS})
  endif()
endfunction()
