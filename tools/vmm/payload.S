/* The guest payload of vbh-vmm: 64-bit code, entered in long mode by the VMM with
 *   rdi = vCPU index, rsi = boot parameters (VMM_BOOT_PARAMS), rsp = its stack,
 *   GS base = its per-vCPU variables (PC_*), interrupts off.
 * It exercises each exit kind in turn and reports raw values on the result ports; the
 * VMM judges them (checks.cpp). Nothing here decides pass or fail, so a wrong value
 * cannot be hidden by a wrong check in the guest. Linked at VMM_PAYLOAD, flat binary.
 * Registers kept across stages: r15 = vCPU index, r14 = boot parameters. */
#include "payload_abi.h"

/* OUT eax to the result port of record \id (clobbers dx). */
.macro report id
    mov $(PORT_RESULT + \id), %dx
    out %eax, %dx
.endm
/* A 64-bit value in rax: records \id (low half) and \id+1 (high half). */
.macro report64 id
    report \id
    shr $32, %rax
    report (\id + 1)
.endm
.macro stage n
    movl $\n, %gs:PC_STAGE
.endm
/* rax = TSC (rdtsc puts it in edx:eax; AMD APM vol. 3 "RDTSC"). */
.macro tsc
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
.endm

    .code64
    .text
    .globl entry
entry:
    mov %edi, %r15d
    mov %rsi, %r14
    call setup_idt

    stage STAGE_CPUID
    /* KVM answers CPUID in the kernel from the table the VMM gave KVM_SET_CPUID2. */
    mov $CPUID_VMM_BASE, %eax
    xor %ecx, %ecx
    cpuid
    mov %ebx, %r8d
    mov %ecx, %r9d
    mov %edx, %r10d
    report R_CPUID_MAX
    mov %r8d, %eax
    report R_CPUID_SIG_EBX
    mov %r9d, %eax
    report R_CPUID_SIG_ECX
    mov %r10d, %eax
    report R_CPUID_SIG_EDX
    mov $CPUID_VMM_VCPU, %eax
    xor %ecx, %ecx
    cpuid
    report R_CPUID_VCPU
    mov $1, %eax
    cpuid
    mov %ebx, %eax
    shr $24, %eax               /* CPUID 1 EBX[31:24]: initial APIC ID */
    report R_CPUID_APIC_ID
    movabs $LAPIC_BASE, %rbx
    mov APIC_ID(%rbx), %eax     /* the in-kernel LAPIC's ID register, bits 31:24 */
    shr $24, %eax
    report R_LAPIC_ID

    stage STAGE_PIO
    mov $PORT_ECHO, %dx
    mov $ECHO32_BASE, %eax
    or %r15d, %eax
    out %eax, %dx
    in %dx, %eax
    report R_PIO_ECHO32
    mov $PORT_ECHO, %dx
    mov $ECHO8_BASE, %al
    add %r15b, %al
    out %al, %dx
    xor %eax, %eax
    in %dx, %al
    report R_PIO_ECHO8

    stage STAGE_MMIO
    /* No memslot backs MMIO_BASE: each access is a nested page fault that KVM decodes
     * into a KVM_EXIT_MMIO of the access's size. */
    mov %r15, %rbx
    shl $12, %rbx
    movabs $MMIO_BASE, %rax
    add %rax, %rbx
    mov MMIO_ID(%rbx), %eax
    report R_MMIO_ID
    mov MMIO_WINDOW(%rbx), %eax
    report R_MMIO_WINDOW
    movabs $SCRATCH_QUAD, %rax
    mov %rax, MMIO_SCRATCH(%rbx)
    movb $SCRATCH_BYTE, MMIO_SCRATCH(%rbx)
    movw $SCRATCH_WORD, (MMIO_SCRATCH + 2)(%rbx)
    mov MMIO_SCRATCH(%rbx), %rax
    report64 R_MMIO_QUAD
    mov (MMIO_SCRATCH + 4)(%rbx), %eax
    report R_MMIO_DWORD
    mov MMIO_WRITES(%rbx), %eax
    report R_MMIO_WRITES

    stage STAGE_TIMER
    /* Periodic LAPIC timer on TIMER_VECTOR, then HLT until BP_TICKS interrupts came. */
    movabs $LAPIC_BASE, %rbx
    movl $(0x100 | SPURIOUS_VECTOR), APIC_SVR(%rbx)   /* bit 8: APIC software enable */
    movl $0xB, APIC_TIMER_DIV(%rbx)                   /* divide by 1 */
    movl $(TIMER_VECTOR | APIC_LVT_PERIODIC), APIC_LVT_TIMER(%rbx)
    tsc
    mov %rax, %r12
    mov BP_TIMER_COUNT(%r14), %eax
    mov %eax, APIC_TIMER_INIT(%rbx)                   /* starts counting */
1:  sti                     /* STI's shadow covers HLT: no wake-up is lost in between */
    hlt
    cli
    incq %gs:PC_HLTS
    mov BP_TICKS(%r14), %ecx
    cmp %rcx, %gs:PC_TICKS
    jb 1b
    tsc
    sub %r12, %rax
    mov %rax, %r12
    movl $(TIMER_VECTOR | APIC_LVT_MASKED), APIC_LVT_TIMER(%rbx)
    movl $0, APIC_TIMER_INIT(%rbx)
    mov %gs:PC_TICKS, %rax
    report R_TICKS
    mov %gs:PC_HLTS, %rax
    report R_HLTS
    mov %r12, %rax
    report64 R_TIMER_CYCLES

    stage STAGE_MEET
    /* Every vCPU gets here before the benchmark runs alone on its vCPU. */
    lock incl BP_ARRIVED(%r14)
1:  pause
    mov BP_ARRIVED(%r14), %eax
    cmp BP_VCPUS(%r14), %eax
    jb 1b
    report R_ARRIVED
    mov %gs:PC_OTHER_IRQS, %rax
    report R_OTHER_IRQS

    stage STAGE_BENCH
    cmp BP_BENCH_VCPU(%r14), %r15d
    jne touch
    mov BP_BENCH_ITERATIONS(%r14), %r13d
    test %r13d, %r13d
    jz touch
    tsc
    mov %rax, %r12
    mov %r13d, %r10d
1:  mov $CPUID_VMM_BASE, %eax   /* in-kernel exit: L2 -> KVM -> L2 */
    xor %ecx, %ecx
    cpuid
    dec %r10d
    jnz 1b
    tsc
    sub %r12, %rax
    report64 R_BENCH_CPUID
    tsc
    mov %rax, %r12
    mov %r13d, %r10d
    mov $PORT_NULL, %dx
1:  out %eax, %dx            /* user-space exit: L2 -> KVM -> vbh-vmm -> KVM -> L2 */
    dec %r10d
    jnz 1b
    tsc
    sub %r12, %rax
    report64 R_BENCH_PIO

touch:
    /* vCPU 0, when the VMM asks (--touch-pages N): first touch and workload passes
     * over memslot 2 (payload_touch.S), before the secret stage's sync point. */
    cmpl $0, BP_TOUCH_PAGES(%r14)
    je secret
    test %r15d, %r15d
    jnz secret
    stage STAGE_TOUCH
    call touch_run

secret:
    /* vCPU 0, when the VMM asks (--protected, --unprotected): a secret in memslot 1
     * (VMM_SECRET), which a protected VM backs with private memory. */
    cmpl $0, BP_SECRET(%r14)
    je done
    test %r15d, %r15d
    jnz done
    stage STAGE_SECRET
    /* --protected (not --shared-code): the secret stage runs from private pages with
     * private page tables (payload_private.S), which it moves to before the secret
     * exists. Its conversions come first then, from shared code and before the secret:
     * QEMU 7.2 TCG gives no nRIP, so KVM skips a VMMCALL by decoding it, reading the
     * code through the memslots' shared view, where private code and tables read as
     * the VMM's zeros (docs/vmm.md, "Private code"). An OUT needs no decoding (IOIO's
     * EXITINFO2 holds the next RIP). */
    cmpl $0, BP_PRIVATE_CODE(%r14)
    je 1f
    call convert_pages
    call go_private
1:  call secret_fill
    report64 R_SECRET_LAST
    call secret_diff
    report R_SECRET_WRITE_DIFF
    cmpl $0, BP_PRIVATE_CODE(%r14)
    jne 2f
    call convert_pages
    /* What a shared page held is the host's, so the guest writes its secret again (a
     * confidential guest may not rely on what a page held before it went shared). */
    call secret_fill
2:
    /* The sync point: the VMM reports "protected_ready" and holds this vCPU while the
     * host attacks; then the whole secret is checked again. */
    xor %eax, %eax
    mov $PORT_SECRET_SYNC, %dx
    out %eax, %dx
    call secret_diff
    report R_SECRET_FINAL_DIFF

done:
    stage STAGE_DONE
    mov $STOP_OK, %eax
stop:                        /* eax = STOP_* */
    mov $PORT_STOP, %dx
    out %eax, %dx
1:  cli                      /* the VMM never resumes a stopped vCPU */
    hlt
    jmp 1b

/* The secret stage's conversions, reported. Clobbers rax-rdx, rbx, rbp, rsi, rdi,
 * r8-r13. */
convert_pages:
    /* Pages [SHARED_FIRST, + SHARED_PAGES) go shared one page per hypercall; the VMM
     * answers each with KVM_SET_MEMORY_ATTRIBUTES and puts its data there. */
    xor %r12d, %r12d            /* hypercalls that returned 0 */
    xor %r13d, %r13d            /* the first non-zero return */
    mov $(VMM_SECRET + VMM_SECRET_SHARED_FIRST * 0x1000), %ebx
    mov $VMM_SECRET_SHARED_PAGES, %ebp
1:  mov $1, %ecx
    xor %edx, %edx              /* shared, 4 KiB pages */
    call map_gpa_range
    add $0x1000, %ebx
    dec %ebp
    jnz 1b
    mov (VMM_SECRET + VMM_SECRET_SHARED_FIRST * 0x1000), %rax
    report64 R_SECRET_SHARED_QWORD
    mov $(VMM_SECRET + VMM_SECRET_SHARED_FIRST * 0x1000), %edi
    mov $(VMM_SECRET_SHARED_PAGES * 0x1000 / 8), %esi
    mov BP_SECRET_SEED(%r14), %rdx
    movabs $SECRET_SHARED_SALT, %rax
    xor %rax, %rdx
    call stream_diff
    report R_SECRET_SHARED_DIFF
    /* Back to private in one call. */
    mov $(VMM_SECRET + VMM_SECRET_SHARED_FIRST * 0x1000), %ebx
    mov $VMM_SECRET_SHARED_PAGES, %ecx
    mov $HC_MAP_ENCRYPTED, %edx
    call map_gpa_range
    mov %r12d, %eax
    report R_SECRET_HC_OK
    mov %r13d, %eax
    report R_SECRET_HC_ERR
    ret

/* rax = the last qword of the secret's stream, written over the whole region. */
secret_fill:
    mov $VMM_SECRET, %edi
    mov $(VMM_SECRET_SIZE / 8), %esi
    mov BP_SECRET_SEED(%r14), %rdx
    jmp stream_fill

/* rax = bytes of the region unlike the secret's stream. */
secret_diff:
    mov $VMM_SECRET, %edi
    mov $(VMM_SECRET_SIZE / 8), %esi
    mov BP_SECRET_SEED(%r14), %rdx
    jmp stream_diff

/* KVM_HC_MAP_GPA_RANGE(rbx = gpa, rcx = pages, rdx = attributes) by VMMCALL, which KVM
 * turns into a KVM_EXIT_HYPERCALL to the VMM (KVM_CAP_EXIT_HYPERCALL); its answer comes
 * back in rax. Counts a 0 in r12d, keeps the first other value in r13. Clobbers rax. */
map_gpa_range:
    mov $HC_MAP_GPA_RANGE, %eax
    vmmcall
    test %rax, %rax
    jnz 1f
    inc %r12d
    ret
1:  test %r13, %r13
    jnz 2f
    mov %rax, %r13
2:  ret

/* The IDT in this vCPU's per-vCPU page: vectors 0-31 report the exception and stop,
 * TIMER_VECTOR counts a tick, SPURIOUS_VECTOR is ignored (no EOI for it: Intel SDM
 * vol. 3 §11.9, AMD APM vol. 2 §16.4.7), any other vector is counted as unexpected. */
setup_idt:
    mov %r15, %rdi
    shl $13, %rdi               /* VMM_PERCPU_STRIDE */
    add $VMM_PERCPU, %rdi
    xor %esi, %esi
1:  lea other_irq(%rip), %rdx
    cmp $32, %esi
    jae 2f
    mov %rsi, %rdx
    shl $4, %rdx
    lea exception_stubs(%rip), %rax
    add %rax, %rdx
2:  cmp $TIMER_VECTOR, %esi
    jne 3f
    lea timer_irq(%rip), %rdx
3:  cmp $SPURIOUS_VECTOR, %esi
    jne 4f
    lea spurious_irq(%rip), %rdx
4:  call set_gate
    inc %esi
    cmp $256, %esi
    jb 1b
    sub $16, %rsp
    movw $(256 * 16 - 1), 6(%rsp)
    mov %rdi, 8(%rsp)
    lidt 6(%rsp)
    add $16, %rsp
    ret

/* Gate esi of the IDT at rdi -> handler rdx: a 64-bit interrupt gate, present, DPL 0,
 * IST 0 (AMD APM vol. 2 §4.8.4, figure 4-24). Clobbers rax, rcx. */
set_gate:
    mov %rsi, %rcx
    shl $4, %rcx
    add %rdi, %rcx
    mov %rdx, %rax
    mov %ax, (%rcx)
    movw $VMM_CODE_SEL, 2(%rcx)
    movw $0x8E00, 4(%rcx)       /* P=1, DPL=0, type 0xE */
    shr $16, %rax
    mov %ax, 6(%rcx)
    shr $16, %rax
    mov %eax, 8(%rcx)
    movl $0, 12(%rcx)
    ret

/* Counts up to BP_TICKS and no further: IRETQ restores IF=1 before the loop's CLI, so
 * another tick may come in between; counting it would make the reported count depend on
 * timing. Ticks after the last one (the timer is still running) are only acknowledged. */
timer_irq:
    push %rax
    push %rcx
    mov (VMM_BOOT_PARAMS + BP_TICKS), %ecx
    cmp %rcx, %gs:PC_TICKS
    jae 1f
    incq %gs:PC_TICKS
1:  movabs $(LAPIC_BASE + APIC_EOI), %rax
    movl $0, (%rax)
    pop %rcx
    pop %rax
    iretq

other_irq:
    incq %gs:PC_OTHER_IRQS
    push %rax
    movabs $(LAPIC_BASE + APIC_EOI), %rax
    movl $0, (%rax)
    pop %rax
    iretq

spurious_irq:
    iretq

/* One 16-byte stub per exception vector, so the IDT entry is stubs + 16 * vector. The
 * CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30 (AMD APM vol. 2
 * §8.2); the others push 0 in its place, so the frame is the same for all. */
    .balign 16
exception_stubs:
    .set vector, 0
    .rept 32
    .balign 16
    .if vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 || vector == 29 || vector == 30
    .else
    push $0
    .endif
    push $vector
    jmp exception
    .set vector, vector + 1
    .endr

/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
exception:
    mov (%rsp), %rax
    report R_EXC_VECTOR
    mov 8(%rsp), %rax
    report R_EXC_ERROR
    mov 16(%rsp), %rax
    report64 R_EXC_RIP
    mov $STOP_EXCEPTION, %eax
    jmp stop

/* stream_fill, stream_diff (shared with the hosted tests). */
#include "payload_stream.S"
/* touch_run. */
#include "payload_touch.S"
/* go_private. */
#include "payload_private.S"
