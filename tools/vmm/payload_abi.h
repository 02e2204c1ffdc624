/* The contract between vbh-vmm and its guest payload (payload.S): where things live in
 * guest-physical memory, which ports and MMIO registers the VMM emulates, and the result
 * records the payload reports. Plain #defines: payload.S includes this through the C
 * preprocessor, the VMM's C++ through payload_abi.hpp. */
#ifndef VBH_VMM_PAYLOAD_ABI_H
#define VBH_VMM_PAYLOAD_ABI_H

/* Guest-physical layout. RAM is one memslot at GPA 0; the page tables identity-map the
 * low 4 GiB so the payload reaches RAM, the MMIO window and the local APIC alike. */
#define VMM_RAM_SIZE        0x400000    /* 4 MiB of RAM at GPA 0 */
#define VMM_GDT             0x1000      /* GDT: null, code 0x08, data 0x10 */
#define VMM_BOOT_PARAMS     0x2000      /* struct below (BP_*), shared by all vCPUs */
#define VMM_PAGE_TABLES     0x10000     /* PML4, PDPT, 4 PDs (2 MiB pages): 6 pages */
#define VMM_PERCPU          0x20000     /* per vCPU: IDT page, then the PC_* page */
#define VMM_PERCPU_STRIDE   0x2000
#define VMM_PERCPU_VARS     0x1000      /* GS base = VMM_PERCPU + i * STRIDE + VARS */
#define VMM_PAYLOAD         0x100000    /* payload.bin is linked and loaded here */
#define VMM_STACKS          0x200000    /* vCPU i: stack top at STACKS + (i+1) * SIZE */
#define VMM_STACK_SIZE      0x4000
#define VMM_MAX_VCPUS       8

/* The secret stage (--protected, --unprotected; docs/vmm.md): its region is memslot 1,
 * right above RAM. In a protected VM a guest_memfd backs it next to the VMM's shared
 * mapping and KVM_SET_MEMORY_ATTRIBUTES makes it private; the guest turns pages
 * [SHARED_FIRST, SHARED_FIRST + SHARED_PAGES) shared and back by hypercall. */
#define VMM_SECRET              0x400000    /* = VMM_RAM_SIZE */
#define VMM_SECRET_PAGES        16
#define VMM_SECRET_SIZE         (VMM_SECRET_PAGES * 0x1000)
#define VMM_SECRET_SHARED_FIRST 4
#define VMM_SECRET_SHARED_PAGES 4
/* --redirect (a hostile host, docs/vmm.md): the VMM's own code at VMM_EXFIL, in shared
 * RAM, copies the secret to VMM_EXFIL_DATA (shared RAM too) when the vCPU is pointed
 * at it. Free RAM: above the stacks, below the secret. */
#define VMM_EXFIL               0x300000
#define VMM_EXFIL_DATA          0x301000
/* Private code (--protected without --shared-code; docs/vmm.md "Private code"): before
 * it writes the secret, vCPU 0 copies what runs while the secret exists into private
 * pages of memslot 1 above the secret, builds page tables there that map those copies
 * at the virtual addresses the originals have, and loads CR3 with them (payload_private.S).
 * Page i of the area at VMM_PRIVATE: */
#define VMM_PRIVATE             (VMM_SECRET + VMM_SECRET_SIZE)
#define VMM_PRIVATE_PAGES       16
#define PV_PML4                 0   /* the tables: PML4, PDPT, one PD (VA 0-1 GiB), */
#define PV_PT                   3   /* and PTs for VA 0-2, 2-4, 4-6 MiB (4 KiB pages) */
#define PV_PT_COUNT             3
#define PV_GDT                  6   /* copies: the GDT page (VA VMM_GDT), */
#define PV_BOOT                 7   /* the boot parameters (VA VMM_BOOT_PARAMS), */
#define PV_IDT                  8   /* vCPU 0's IDT (VA VMM_PERCPU), */
#define PV_STACK                9   /* vCPU 0's stack top page, */
#define PV_CODE                 10  /* the payload (VA VMM_PAYLOAD), */
#define PV_CODE_PAGES           6   /* at most this many pages of it */
#define VMM_SLOT1_SIZE          (VMM_SECRET_SIZE + VMM_PRIVATE_PAGES * 0x1000)
/* The conversion hypercall: VMMCALL with rax = nr, rbx = gpa, rcx = pages, rdx = attrs,
 * result in rax (Linux Documentation/virt/kvm/x86/hypercalls.rst, KVM_HC_MAP_GPA_RANGE;
 * <linux/kvm_para.h> and <asm/kvm_para.h> give the same values, checked in C++). */
#define HC_MAP_GPA_RANGE        12
#define HC_MAP_ENCRYPTED        (1 << 4)    /* private; 0: shared; bits 0-1: 4 KiB pages */
/* The shared pages hold the stream of (seed ^ SECRET_SHARED_SALT), written by the VMM. */
#define SECRET_SHARED_SALT      0x5348415245445F5F  /* "__DERAHS" */

/* The touch benchmark (--touch-pages N; docs/vmm.md): memslot 2, N pages at VMM_TOUCH,
 * private in a protected VM (a guest_memfd), the VMM's anonymous mapping otherwise.
 * The page tables map the low 4 GiB and the MMIO window starts at 3 GiB: at most
 * VMM_TOUCH_MAX_PAGES pages keep the region far below it. */
#define VMM_TOUCH               0x800000    /* 8 MiB: above the secret region */
#define VMM_TOUCH_MAX_PAGES     65536       /* 256 MiB */

#define VMM_CODE_SEL        0x08
#define VMM_DATA_SEL        0x10

/* Boot parameters (written by the VMM before the first KVM_RUN). */
#define BP_VCPUS            0   /* u32 number of vCPUs */
#define BP_TICKS            4   /* u32 timer ticks to wait for in HLT */
#define BP_TIMER_COUNT      8   /* u32 LAPIC timer initial count (divide by 1) */
#define BP_BENCH_ITERATIONS 12  /* u32 exits per benchmark loop, 0: none */
#define BP_ARRIVED          16  /* u32 rendezvous counter, incremented by each vCPU */
#define BP_BENCH_VCPU       20  /* u32 the vCPU that runs the benchmarks */
#define BP_SECRET           24  /* u32 1: vCPU 0 runs the secret stage */
#define BP_SECRET_SEED      32  /* u64 seed of the secret's stream (never 0) */
#define BP_TOUCH_PAGES      40  /* u32 pages vCPU 0 touches at VMM_TOUCH, 0: none */
#define BP_TOUCH_CPU_ITERS  44  /* u32 xorshift64 steps of the touch stage's CPU loop */
#define BP_PRIVATE_CODE     48  /* u32 1: vCPU 0 runs the secret stage from private pages */

/* Per-vCPU variables (GS-relative). */
#define PC_TICKS            0   /* u64 timer interrupts taken */
#define PC_STAGE            8   /* u32 STAGE_*: how far the payload got */
#define PC_HLTS             16  /* u64 HLT instructions that returned */
#define PC_OTHER_IRQS       24  /* u64 interrupts on any vector but timer/spurious */

#define STAGE_START 0
#define STAGE_CPUID 1
#define STAGE_PIO   2
#define STAGE_MMIO  3
#define STAGE_TIMER 4
#define STAGE_MEET  5
#define STAGE_BENCH 6
#define STAGE_SECRET 7
#define STAGE_DONE  8
#define STAGE_TOUCH 9   /* between bench and secret; numbered last to keep the others */

/* Ports emulated by the VMM (KVM_EXIT_IO). */
#define PORT_RESULT  0x600  /* + R_*: 32-bit OUT, one result record */
#define PORT_ECHO    0x680  /* OUT stores the value; IN returns its complement */
#define PORT_NULL    0x681  /* OUT ignored: the port-I/O benchmark */
#define PORT_STOP    0x682  /* OUT: the vCPU is finished, value STOP_* */
#define STOP_OK        0
#define STOP_EXCEPTION 1
#define PORT_SECRET_SYNC 0x683  /* OUT: the secret stage waits here for the host's attacks */

/* MMIO window (no memslot: every access is a KVM_EXIT_MMIO), one page per vCPU. */
#define MMIO_BASE     0xC0000000
#define MMIO_STRIDE   0x1000
#define MMIO_ID       0x00   /* u32 read-only: MMIO_ID_VALUE */
#define MMIO_WINDOW   0x04   /* u32 read-only: index of this page (the vCPU's) */
#define MMIO_SCRATCH  0x08   /* 8 bytes of storage, any access size */
#define MMIO_WRITES   0x10   /* u32 read-only: writes seen by this page */
#define MMIO_ID_VALUE 0x4F494D4D /* "MMIO" */

/* Local APIC (in-kernel, KVM_CREATE_IRQCHIP), xAPIC MMIO; AMD APM vol. 2 §16.3. */
#define LAPIC_BASE      0xFEE00000
#define APIC_ID         0x20
#define APIC_EOI        0xB0
#define APIC_SVR        0xF0
#define APIC_LVT_TIMER  0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_DIV  0x3E0
#define APIC_LVT_PERIODIC (1 << 17)
#define APIC_LVT_MASKED   (1 << 16)
#define TIMER_VECTOR    0x40
#define SPURIOUS_VECTOR 0xFF

/* CPUID leaves the VMM sets with KVM_SET_CPUID2 (hypervisor range, AMD APM vol. 3 E.4). */
/* The signature is lower case: "VBH-" followed by capitals would look like a record of
 * the serial protocol (qemu-nested/README.md) in a console line. */
#define CPUID_VMM_BASE      0x40000000  /* eax: max leaf, ebx/ecx/edx: "vbh-vmm-test" */
#define CPUID_VMM_VCPU      0x40000001  /* eax: CPUID_VCPU_MAGIC | vCPU index */
#define CPUID_VCPU_MAGIC    0x56B40000
#define CPUID_SIG_EBX       0x2D686276  /* "vbh-" */
#define CPUID_SIG_ECX       0x2D6D6D76  /* "vmm-" */
#define CPUID_SIG_EDX       0x74736574  /* "test" */

/* Values the payload writes, and so expects back. */
#define ECHO32_BASE   0x5A5A0000  /* | vCPU index */
#define ECHO8_BASE    0x3C        /* + vCPU index */
#define SCRATCH_QUAD  0x1122334455667788
#define SCRATCH_BYTE  0xAA        /* written at +0 */
#define SCRATCH_WORD  0xBBCC      /* written at +2 */

/* Result records: PORT_RESULT + id, 32-bit each; 64-bit values take id (low) and id+1. */
#define R_CPUID_MAX        0x00
#define R_CPUID_SIG_EBX    0x01
#define R_CPUID_SIG_ECX    0x02
#define R_CPUID_SIG_EDX    0x03
#define R_CPUID_VCPU       0x04
#define R_CPUID_APIC_ID    0x05
#define R_LAPIC_ID         0x06
#define R_PIO_ECHO32       0x10
#define R_PIO_ECHO8        0x11
#define R_MMIO_ID          0x18
#define R_MMIO_WINDOW      0x19
#define R_MMIO_QUAD        0x1A  /* and 0x1B */
#define R_MMIO_DWORD       0x1C
#define R_MMIO_WRITES      0x1D
#define R_TICKS            0x20
#define R_HLTS             0x21
#define R_TIMER_CYCLES     0x22  /* and 0x23 */
#define R_OTHER_IRQS       0x24
#define R_ARRIVED          0x28
#define R_EXC_VECTOR       0x30
#define R_EXC_ERROR        0x31
#define R_EXC_RIP          0x32  /* and 0x33 */
#define R_BENCH_CPUID      0x40  /* and 0x41: TSC cycles for BP_BENCH_ITERATIONS */
#define R_BENCH_PIO        0x42  /* and 0x43 */
/* The secret stage (vCPU 0). */
#define R_SECRET_LAST        0x48  /* and 0x49: the last qword of the stream written */
#define R_SECRET_WRITE_DIFF  0x4A  /* bytes of the region unlike the stream, at once */
#define R_SECRET_HC_OK       0x4B  /* KVM_HC_MAP_GPA_RANGE calls that returned 0 */
#define R_SECRET_HC_ERR      0x4C  /* the first non-zero return (low half), else 0 */
#define R_SECRET_SHARED_QWORD 0x4D /* and 0x4E: first qword read from the shared pages */
#define R_SECRET_SHARED_DIFF 0x4F  /* shared bytes unlike the VMM's stream */
#define R_SECRET_FINAL_DIFF  0x50  /* bytes of the region unlike the stream, after the hold */
/* The touch benchmark (vCPU 0): TSC cycles of each pass over the region. */
#define R_TOUCH_FIRST        0x58  /* and 0x59: pass 1, the first touch of every page */
#define R_TOUCH_AGAIN        0x5A  /* and 0x5B: pass 2, the same writes, pages mapped */
#define R_TOUCH_READ         0x5C  /* and 0x5D: pass 3, every qword of the region read */
#define R_TOUCH_SUM          0x5E  /* and 0x5F: pass 3's sum of the qwords */
#define R_TOUCH_CPU          0x60  /* and 0x61: BP_TOUCH_CPU_ITERS xorshift64 steps */
#define R_TOUCH_CPU_VALUE    0x62  /* and 0x63: their result, from state 1 */
#define R_COUNT            0x80  /* ports PORT_RESULT .. PORT_RESULT + R_COUNT - 1 */

#endif
