/* The secret's stream: xorshift64* (S. Vigna, "An experiment in exploring Marsaglia's
 * xorshift generators, scrambled", 2016): state ^= state >> 12, ^= state << 25,
 * ^= state >> 27, then the output is state * 0x2545F4914F6CDD1D; qword i of a stream is
 * the output of step i + 1 from state = seed (never 0: zero is a fixed point).
 * One file for two users, so both run the same instructions: payload.S includes it
 * (the guest fills and checks its region), and the hosted vmm_test links it and calls
 * it from C++ against stream.hpp, the VMM's twin. Plain SysV calls: arguments in rdi,
 * rsi, rdx, result in rax; only caller-saved registers are used (rax, rcx, rdx, rsi,
 * rdi, r8-r11), no stack, no absolute address. */
    .section .note.GNU-stack, "", @progbits  /* hosted link: no executable stack */
    .text

.macro xorshift64_step       /* r8 = next output of the state in rax; clobbers rcx */
    mov %rax, %rcx
    shr $12, %rcx
    xor %rcx, %rax
    mov %rax, %rcx
    shl $25, %rcx
    xor %rcx, %rax
    mov %rax, %rcx
    shr $27, %rcx
    xor %rcx, %rax
    mov %rax, %r8
    imul %r9, %r8
.endm

/* u64 stream_fill(void *at, u64 qwords, u64 seed): writes the stream's first `qwords`
 * qwords at `at`, returns the last one (0 if qwords is 0). */
    .globl stream_fill
    .type stream_fill, @function
stream_fill:
    mov %rdx, %rax
    movabs $0x2545F4914F6CDD1D, %r9
    xor %r8d, %r8d
    test %rsi, %rsi
    jz 2f
1:  xorshift64_step
    mov %r8, (%rdi)
    add $8, %rdi
    dec %rsi
    jnz 1b
2:  mov %r8, %rax
    ret
    .size stream_fill, . - stream_fill

/* u64 stream_diff(const void *at, u64 qwords, u64 seed): how many of the 8 * qwords
 * bytes at `at` differ from the stream's. */
    .globl stream_diff
    .type stream_diff, @function
stream_diff:
    mov %rdx, %rax
    movabs $0x2545F4914F6CDD1D, %r9
    xor %r10d, %r10d
    test %rsi, %rsi
    jz 3f
1:  xorshift64_step
    xor (%rdi), %r8          /* a non-zero byte: one that differs */
    mov $8, %r11d
2:  test %r8b, %r8b
    setnz %cl
    movzbl %cl, %ecx
    add %rcx, %r10
    shr $8, %r8
    dec %r11d
    jnz 2b
    add $8, %rdi
    dec %rsi
    jnz 1b
3:  mov %r10, %rax
    ret
    .size stream_diff, . - stream_diff
