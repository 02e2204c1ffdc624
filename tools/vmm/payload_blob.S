/* payload.bin (VMM_PAYLOAD_BIN, set by CMake) as read-only data of vbh-vmm. */
    .section .rodata
    .balign 16
    .globl vmm_payload_start, vmm_payload_end
vmm_payload_start:
    .incbin VMM_PAYLOAD_BIN
vmm_payload_end:
    .section .note.GNU-stack, "", @progbits
