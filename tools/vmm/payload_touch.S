/* The touch benchmark of vbh-vmm (--touch-pages N, docs/vmm.md), vCPU 0, included by
 * payload.S. Three passes over the N pages of memslot 2 at VMM_TOUCH and a CPU loop,
 * each timed with the TSC:
 *   1. one qword written at the start of every page: the first touch, so every page
 *      takes KVM's fault (in a protected VM: guest_memfd's prepare, and under vbh the
 *      GUEST_DONATE and the shadow NPT fill);
 *   2. the same qwords incremented: every page now mapped, a workload;
 *   3. every qword of the region summed: a streaming read, a workload; the sum is
 *      reported, so the VMM checks that pass 1 and 2 reached every page;
 *   4. BP_TOUCH_CPU_ITERS xorshift64 steps in registers from state 1 (no memory).
 * Page i holds i + 2 in its first qword after pass 2 and zeros elsewhere (KVM hands
 * out cleared pages, private or not), so pass 3's sum is N(N-1)/2 + 2N.
 * In: r14 = boot parameters. Clobbers rax, rbx, rcx, rdx, rsi, rdi, r8, r12. */
touch_run:
    mov BP_TOUCH_PAGES(%r14), %ecx
    tsc
    mov %rax, %r12
    mov $VMM_TOUCH, %edi
    xor %esi, %esi
1:  lea 1(%rsi), %rax
    mov %rax, (%rdi)
    add $0x1000, %rdi
    inc %esi
    cmp %ecx, %esi
    jb 1b
    tsc
    sub %r12, %rax
    report64 R_TOUCH_FIRST

    mov BP_TOUCH_PAGES(%r14), %ecx
    tsc
    mov %rax, %r12
    mov $VMM_TOUCH, %edi
    mov %ecx, %esi
1:  incq (%rdi)
    add $0x1000, %rdi
    dec %esi
    jnz 1b
    tsc
    sub %r12, %rax
    report64 R_TOUCH_AGAIN

    mov BP_TOUCH_PAGES(%r14), %ecx
    shl $9, %rcx                /* qwords: 512 per page */
    tsc
    mov %rax, %r12
    mov $VMM_TOUCH, %edi
    xor %ebx, %ebx
1:  add (%rdi), %rbx
    add $8, %rdi
    dec %rcx
    jnz 1b
    tsc
    sub %r12, %rax
    report64 R_TOUCH_READ
    mov %rbx, %rax
    report64 R_TOUCH_SUM

    mov BP_TOUCH_CPU_ITERS(%r14), %ecx
    mov $1, %r8d
    tsc
    mov %rax, %r12
    test %ecx, %ecx
    jz 2f
1:  mov %r8, %rax               /* xorshift64 (Marsaglia 2003): 13, 7, 17 */
    shl $13, %rax
    xor %rax, %r8
    mov %r8, %rax
    shr $7, %rax
    xor %rax, %r8
    mov %r8, %rax
    shl $17, %rax
    xor %rax, %r8
    dec %ecx
    jnz 1b
2:  tsc
    sub %r12, %rax
    report64 R_TOUCH_CPU
    mov %r8, %rax
    report64 R_TOUCH_CPU_VALUE
    ret
