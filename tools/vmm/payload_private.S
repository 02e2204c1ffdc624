/* go_private (payload.S includes this): the secret stage's move into private memory,
 * vCPU 0 only, before the secret exists (docs/vmm.md "Private code").
 *
 * Why: in a protected VM the host cannot read private pages, and under vbh it cannot
 * move RIP or CR3 (docs/protected-vm.md, "Authoritative vCPU state"), but memslot 0 is
 * shared: the host can rewrite, at any time, the code the guest runs and the page
 * tables that translate it, and have the guest itself copy its secret out. So the code
 * and data that run while the secret exists are copied into private pages of memslot 1
 * (VMM_PRIVATE, above the secret) and new page tables, private too, map each copy at
 * the virtual address of its original: the code goes on unchanged, at the same
 * addresses, once CR3 points at the new PML4. KVM with nested paging does not
 * intercept guest CR3 writes (the guest owns its paging), and vbh's rules take the
 * CR3 the guest loaded itself.
 *
 * The new tables map 4 KiB pages in VA 0-6 MiB only (PML4[0] -> PDPT[0] -> PD[0..2] ->
 * three PTs, AMD APM vol. 2 §5.3), nothing else:
 *   VMM_GDT, VMM_BOOT_PARAMS, VMM_PERCPU (the IDT), the stack's top page and the
 *   payload's PV_CODE_PAGES pages -> their private copies (the GDT: IRETQ and interrupt
 *   gates read the code descriptor; the boot parameters: the seed, copied once);
 *   vCPU 0's per-vCPU variables (GS base) -> themselves, shared: data the VMM reads
 *   (the stage), never executed;
 *   the secret region -> itself, private but for the pages the guest makes shared.
 * No MMIO window and no local APIC: the stage runs with interrupts off and the LAPIC
 * timer masked; an interrupt the host injects anyway faults on the APIC's EOI and the
 * guest stops (an exception report), which the host can always cause.
 * What the copies hold is what shared memory held at the copy, before the secret was
 * written: what the host changes after that never reaches the guest.
 * Clobbers rax, rcx, rsi, rdi. */

#define PV(page) (VMM_PRIVATE + (page) * 0x1000)
/* The PTE of virtual address va: the three PTs are consecutive pages, one per 2 MiB. */
#define PTE_AT(va) (PV(PV_PT) + ((va) >> 12) * 8)
#define PTE_PW 3                  /* present, writable (AMD APM vol. 2 §5.4.1) */

/* pages pages of memory at from -> private page page (rsi, rdi, rcx). */
.macro copy_pages from, page, pages
    mov $\from, %esi
    mov $PV(\page), %edi
    mov $(\pages * 0x1000 / 8), %ecx
    rep movsq
.endm
/* The PTE of va -> gpa. */
.macro map_page va, gpa
    movq $((\gpa) | PTE_PW), PTE_AT(\va)
.endm

go_private:
    cld
    mov $PV(PV_PML4), %edi        /* the tables start empty */
    mov $((PV_PT + PV_PT_COUNT) * 0x1000 / 8), %ecx
    xor %eax, %eax
    rep stosq
    copy_pages VMM_GDT, PV_GDT, 1
    copy_pages VMM_BOOT_PARAMS, PV_BOOT, 1
    copy_pages VMM_PERCPU, PV_IDT, 1
    copy_pages VMM_PAYLOAD, PV_CODE, PV_CODE_PAGES
    movq $(PV(1) | PTE_PW), PV(PV_PML4)           /* PML4[0] -> PDPT */
    movq $(PV(2) | PTE_PW), PV(1)                 /* PDPT[0] -> PD */
    .set i, 0
    .rept PV_PT_COUNT                             /* PD[i] -> PT i */
    movq $(PV(PV_PT + i) | PTE_PW), (PV(2) + i * 8)
    .set i, i + 1
    .endr
    map_page VMM_GDT, PV(PV_GDT)
    map_page VMM_BOOT_PARAMS, PV(PV_BOOT)
    map_page VMM_PERCPU, PV(PV_IDT)
    map_page (VMM_PERCPU + VMM_PERCPU_VARS), (VMM_PERCPU + VMM_PERCPU_VARS)
    map_page (VMM_STACKS + VMM_STACK_SIZE - 0x1000), PV(PV_STACK)
    .set i, 0
    .rept PV_CODE_PAGES
    map_page (VMM_PAYLOAD + i * 0x1000), PV(PV_CODE + i)
    .set i, i + 1
    .endr
    .set i, 0
    .rept VMM_SECRET_PAGES
    map_page (VMM_SECRET + i * 0x1000), (VMM_SECRET + i * 0x1000)
    .set i, i + 1
    .endr
    /* The stack last: its copy holds this call's return address, which RET then pops
     * from the copy. vCPU 0's stack is one page deep here (payload.S, secret). */
    copy_pages (VMM_STACKS + VMM_STACK_SIZE - 0x1000), PV_STACK, 1
    mov $PV(PV_PML4), %eax
    mov %rax, %cr3                /* the next fetch is from the copy */
    ret
