// SPDX-License-Identifier: GPL-2.0
/*
 * INIT/SIPI to another CPU (docs/containment.md, "INIT and SIPI"; docs/threats.md #12).
 * The host writes INIT, INIT de-assert, SIPI, SIPI for a CPU into its local APIC's ICR,
 * the sequence Linux uses to start a CPU (Intel SDM vol. 3 §9.4.4, MP initialisation),
 * with the vector of a page of its choosing: the target CPU resets and runs the host's
 * real-mode code (sipi_stub.S). On a bare kernel that code reads any physical frame.
 * Under vbh the CPU must start in guest mode under the host's nested page table
 * (docs/launch.md, "INIT and SIPI"), so a hypervisor or domain frame faults.
 *
 * The ICR is written through the xAPIC MMIO page (native_apic_mem_write: the fixmap
 * mapping of 0xFEE00000), the same in 6.1 and 6.12, and exactly the write vbh must
 * trap. x2APIC (ICR as an MSR) is refused: QEMU 7.2 TCG does not offer it.
 *
 * The payload page. A SIPI vector is a page number below 1 MiB. Linux reserves the
 * whole first MiB (arch/x86/realmode/init.c, reserve_real_mode) and takes its own
 * real-mode trampoline (the code its SIPIs start) from it top-down, right below the
 * EBDA (SeaBIOS on q35: 0x9fc00), i.e. in 0x9xxxx. 0x70000-0x71fff is below that and
 * above everything firmware keeps: the IVT and BIOS data area (0x0-0x4ff), the boot
 * sector (0x7c00), the bzImage setup and command line QEMU's -kernel loader put at
 * 0x10000-0x2ffff (used only before the kernel's protected-mode entry), the EBDA and
 * the ROMs (0x9fc00-0xfffff). The module still saves the pages and puts them back when
 * the payload has halted; after sipi_running it leaves the payload there, because the
 * target CPU stays halted in it (an NMI would run its IDT).
 */
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/string.h>
#include <asm/apic.h>
#include <asm/smp.h>
#include "attack.h"
#include "sipi.h"

#define SIPI_VECTOR 0x70 /* page 0x70000: see the header comment */
#define SIPI_PHYS ((u32)SIPI_VECTOR << 12)
#define SIPI_WAIT_MS 1000

extern const u8 vbh_sipi_blob[], vbh_sipi_blob_end[];

static u8 saved[SIPI_BYTES];

static void put32(u8 *p, unsigned int off, u32 v) { memcpy(p + off, &v, 4); }
static void put16(u8 *p, unsigned int off, u16 v) { memcpy(p + off, &v, 2); }
static u32 get32(const u8 *p, unsigned int off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 get64(const u8 *p, unsigned int off) { u64 v; memcpy(&v, p + off, 8); return v; }

/* Copy the payload to SIPI_PHYS and fill in its absolute addresses and targets. */
static void payload_write(u8 *p, const u64 *pfn, int n)
{
	static const u64 gdt[3] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
	u32 stub;
	int i;

	memset(p, 0, SIPI_BYTES);
	memcpy(p, vbh_sipi_blob, vbh_sipi_blob_end - vbh_sipi_blob);
	memcpy(p + SIPI_GDT, gdt, sizeof(gdt));
	put16(p, SIPI_GDTR, sizeof(gdt) - 1);
	put32(p, SIPI_GDTR + 2, SIPI_PHYS + SIPI_GDT);
	put16(p, SIPI_IDTR, 256 * 8 - 1);
	put32(p, SIPI_IDTR + 2, SIPI_PHYS + SIPI_IDT);
	put32(p, SIPI_FARPTR, SIPI_PHYS + SIPI_PM32);
	put16(p, SIPI_FARPTR + 4, SIPI_CS32);
	for (i = 0; i < 256; i++) { /* 32-bit interrupt gates (type 0xE, present) */
		stub = SIPI_PHYS + SIPI_STUBS + 8 * i;
		put32(p, SIPI_IDT + 8 * i, (stub & 0xffff) | SIPI_CS32 << 16);
		put32(p, SIPI_IDT + 8 * i + 4, (stub & 0xffff0000) | 0x8e00);
	}
	put32(p, SIPI_COUNT, n);
	for (i = 0; i < n; i++) {
		u64 addr = pfn[i] << PAGE_SHIFT, poison = SIPI_POISON;

		memcpy(p + SIPI_TARGET + 8 * i, &addr, 8);
		memcpy(p + SIPI_DATA + 8 * i, &poison, 8);
	}
	wmb();
}

static bool icr_idle(void)
{
	unsigned int us;

	for (us = 0; us < 1000; us++) {
		if (!(native_apic_mem_read(APIC_ICR) & APIC_ICR_BUSY))
			return true;
		udelay(1);
	}
	return false;
}

/* One IPI: destination APIC id into ICR2, then the command into ICR (the write that
 * sends). Interrupts off so no IPI of this CPU's own lands between the two writes. */
static bool send_ipi(u32 apicid, u32 cmd)
{
	unsigned long flags;
	bool ok;

	local_irq_save(flags);
	ok = icr_idle();
	if (ok) {
		native_apic_mem_write(APIC_ICR2, SET_XAPIC_DEST_FIELD(apicid));
		native_apic_mem_write(APIC_ICR, cmd);
		ok = icr_idle();
	}
	local_irq_restore(flags);
	return ok;
}

/* INIT assert, INIT de-assert, SIPI twice: Linux's own wakeup_secondary_cpu_via_init
 * order and delays (10 ms after INIT, 200 us between the SIPIs). */
static bool init_sipi(u32 apicid)
{
	if (!send_ipi(apicid, APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT))
		return false;
	mdelay(10);
	if (!send_ipi(apicid, APIC_INT_LEVELTRIG | APIC_DM_INIT))
		return false;
	if (!send_ipi(apicid, APIC_DM_STARTUP | SIPI_VECTOR))
		return false;
	udelay(200);
	return send_ipi(apicid, APIC_DM_STARTUP | SIPI_VECTOR);
}

/* The payload has halted for good: done, or (never seen) stuck after its last fault. */
static bool payload_halted(const u8 *p)
{
	return get32(p, SIPI_DONE) == SIPI_DONE_MAGIC;
}

/*
 * Report, one line per target: "target=I pfn=X result=read hash=H word=W" (hash: FNV-1a
 * of the 8 bytes, as the other reads), "result=fault vector=N copied=no|yes" (yes if
 * the slot lost its poison anyway), "result=untried". Last line: result=done when the
 * payload tried every target, result=no_start when it never ran, result=stuck when it
 * started but did not finish within SIPI_WAIT_MS.
 */
static void report(const u8 *p, const u64 *pfn, int n, bool restored)
{
	int i;

	for (i = 0; i < n; i++) {
		u32 r = get32(p, SIPI_RESULT + 4 * i);
		u64 w = get64(p, SIPI_DATA + 8 * i);

		out("target=%d pfn=0x%llx ", i, pfn[i]);
		if (r == SIPI_READ_DONE)
			out("result=read hash=0x%llx word=0x%llx\n", fnv1a64(FNV1A64_INIT, &w, 8), w);
		else if (r & SIPI_FAULT)
			out("result=fault vector=%u copied=%s\n", r & 0xff,
			    w == SIPI_POISON ? "no" : "yes");
		else
			out("result=untried\n");
	}
	out("started=%d late_vector=%u restored=%s ", get32(p, SIPI_STARTED) == SIPI_STARTED_MAGIC,
	    get32(p, SIPI_LATE), restored ? "yes" : "no");
	if (payload_halted(p))
		out("result=done\n");
	else if (get32(p, SIPI_STARTED) != SIPI_STARTED_MAGIC)
		out("result=no_start\n");
	else
		out("result=stuck\n");
}

static int sipi_attack(u64 cpu, const u64 *pfn, int n, bool want_online)
{
	u8 *p = phys_to_virt(SIPI_PHYS);
	unsigned int ms;
	bool restore;
	int i;

	if (cpu >= nr_cpu_ids || !cpu_present(cpu) || cpu == raw_smp_processor_id())
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!pfn[i] || pfn[i] >= (1ull << (32 - PAGE_SHIFT))) /* 32-bit loads, no paging */
			return -EINVAL;
	if (x2apic_mode) {
		out("result=unsupported reason=x2apic\n");
		return 0;
	}
	if (cpu_online(cpu) != want_online) {
		out("result=error reason=%s cpu=%llu\n", want_online ? "cpu_offline" : "cpu_online", cpu);
		return 0;
	}
	memcpy(saved, p, SIPI_BYTES);
	payload_write(p, pfn, n);
	out("apicid=%u vector=0x%x ", cpu_physical_id(cpu), SIPI_VECTOR);
	if (!init_sipi(cpu_physical_id(cpu))) {
		memcpy(p, saved, SIPI_BYTES);
		out("result=error reason=icr_busy\n");
		return 0;
	}
	for (ms = 0; ms < SIPI_WAIT_MS && !payload_halted(p); ms += 10)
		msleep(10);
	rmb();
	out("waited_ms=%u\n", ms);
	/* Put the pages back only under a CPU that has halted in it with interrupts off and
	 * is offline to Linux (its next start is Linux's own INIT/SIPI). A payload that
	 * never started may still start later: it must find itself, not old bytes. */
	restore = !want_online && payload_halted(p);
	report(p, pfn, n, restore);
	if (restore)
		memcpy(p, saved, SIPI_BYTES);
	return 0;
}

/* The targets: up to three PFNs, a 0 ends the list (frame 0, the real-mode IVT, is
 * never a target). */
static int targets(const u64 *a)
{
	int n = 0;

	while (n < 3 && a[n])
		n++;
	return n;
}

/* sipi_offline CPU PFN_A PFN_B PFN_C: the CPU is offline (the caller offlined it
 * through sysfs and onlines it after: Linux's own INIT/SIPI restarts it). */
static int cmd_sipi_offline(int argc, const u64 *a)
{
	return targets(&a[1]) ? sipi_attack(a[0], &a[1], targets(&a[1]), false) : -EINVAL;
}

/* sipi_running CPU PFN_A PFN_B PFN_C: the CPU is online and Linux runs it. It is lost to
 * Linux afterwards (halted in the payload): the last attack of a boot. */
static int cmd_sipi_running(int argc, const u64 *a)
{
	return targets(&a[1]) ? sipi_attack(a[0], &a[1], targets(&a[1]), true) : -EINVAL;
}

const struct atk_cmd sipi_cmds[] = {
	{ "sipi_offline", 4, cmd_sipi_offline, "CPU PFN_A PFN_B PFN_C  INIT/SIPI an offline CPU into a payload that reads each PFN (0 ends the list)" },
	{ "sipi_running", 4, cmd_sipi_running, "CPU PFN_A PFN_B PFN_C  the same to an online CPU (lost to Linux after)" },
	{ }
};
