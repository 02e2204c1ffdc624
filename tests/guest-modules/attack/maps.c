// SPDX-License-Identifier: GPL-2.0
/*
 * Attack 1 of docs/containment.md: reach a frame through every kind of host mapping.
 * vbh's defence is below all of them (the frame is absent from the host's nested page
 * tables), so each path must fail the same way, while each succeeds on a frame the
 * host still owns.
 */
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <asm/cpufeature.h>
#include <asm/tlbflush.h>
#include "attack.h"
#include "probe.h"

static u8 buf[PAGE_SIZE];

/* Linux's own direct map (phys_to_virt): the alias every frame has. */
static int cmd_dmap_read(int argc, const u64 *a)
{
	out_read(read_frame(phys_to_virt(PFN_PHYS(a[0])), buf), buf);
	return 0;
}

static int cmd_dmap_write(int argc, const u64 *a)
{
	write_marker(phys_to_virt(PFN_PHYS(a[0])));
	return 0;
}

/*
 * memremap(MEMREMAP_WB) is the documented way to map RAM; for a frame in the direct
 * map it returns that alias, elsewhere it builds a new one. Either way the NPT decides.
 */
static int memremap_attack(u64 pfn, bool write)
{
	void *va = memremap(PFN_PHYS(pfn), PAGE_SIZE, MEMREMAP_WB);

	if (!va) {
		out("result=refused how=memremap_null\n");
		return 0;
	}
	out("alias=%s ", va == phys_to_virt(PFN_PHYS(pfn)) ? "direct_map" : "new");
	if (write)
		write_marker(va);
	else
		out_read(read_frame(va, buf), buf);
	memunmap(va);
	return 0;
}

static int cmd_memremap_read(int argc, const u64 *a) { return memremap_attack(a[0], false); }
static int cmd_memremap_write(int argc, const u64 *a) { return memremap_attack(a[0], true); }

/*
 * A mapping made from page tables this module writes itself, hung into an unused
 * kernel PGD slot of the current CR3: no kernel mapping API is involved, so nothing
 * but the hypervisor's nested page tables stands between the PTE and the frame.
 * 4-level paging only (QEMU's EPYC model has no LA57). Runs with interrupts off on one
 * CPU and removes the slot (plus INVLPG) before returning, so no other CPU ever uses it.
 */
#define ENT_TABLE (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define ENT_LEAF (ENT_TABLE | _PAGE_NX)

struct own_map {
	u64 *pgd;
	int slot;
	u64 *tbl[3]; /* PUD, PMD, PT pages we allocated (PMD/PT unused for 1 GiB) */
	u8 *va;
};

static int own_map_build(struct own_map *m, u64 pa, bool gib)
{
	int i;

	memset(m, 0, sizeof(*m));
	if (pgtable_l5_enabled())
		return -EOPNOTSUPP;
	m->pgd = (u64 *)__va(read_cr3_pa());
	for (m->slot = PTRS_PER_PGD - 1; m->slot >= PTRS_PER_PGD / 2; m->slot--)
		if (!READ_ONCE(m->pgd[m->slot]))
			break;
	if (m->slot < PTRS_PER_PGD / 2)
		return -EBUSY;
	for (i = 0; i < 3; i++) {
		m->tbl[i] = (u64 *)get_zeroed_page(GFP_KERNEL);
		if (!m->tbl[i])
			return -ENOMEM;
	}
	m->va = (u8 *)(0xffff000000000000ull | ((u64)m->slot << PGDIR_SHIFT));
	if (gib) {	/* PUD leaf with PS: APM vol. 2 §5.3.4, 1-Gbyte pages */
		m->tbl[0][0] = (pa & PUD_MASK) | ENT_LEAF | _PAGE_PSE;
		m->va += pa & ~PUD_MASK;
	} else {
		m->tbl[0][0] = __pa(m->tbl[1]) | ENT_TABLE;
		m->tbl[1][0] = __pa(m->tbl[2]) | ENT_TABLE;
		m->tbl[2][0] = (pa & PAGE_MASK) | ENT_LEAF;
	}
	return 0;
}

static void own_map_free(struct own_map *m)
{
	int i;

	for (i = 0; i < 3; i++)
		free_page((unsigned long)m->tbl[i]);
}

static void own_map_attack(u64 pfn, bool gib, bool write)
{
	struct own_map m;
	unsigned long flags;
	int err, trap = 0;

	if (gib && !boot_cpu_has(X86_FEATURE_GBPAGES)) {
		out("result=unsupported reason=no_1g_pages\n");
		return;
	}
	err = own_map_build(&m, PFN_PHYS(pfn), gib);
	if (err) {
		own_map_free(&m);
		out("result=error err=%d\n", err);
		return;
	}
	local_irq_save(flags);
	WRITE_ONCE(m.pgd[m.slot], __pa(m.tbl[0]) | ENT_TABLE);
	if (write)
		write_marker(m.va);
	else
		trap = read_frame(m.va, buf);
	WRITE_ONCE(m.pgd[m.slot], 0);
	asm volatile("invlpg (%0)" : : "r"(m.va) : "memory");
	local_irq_restore(flags);
	if (!write)
		out_read(trap, buf);
	out("pgd_slot=%d va=0x%lx\n", m.slot, (unsigned long)m.va);
	own_map_free(&m);
}

static int cmd_pte_read(int argc, const u64 *a) { own_map_attack(a[0], false, false); return 0; }
static int cmd_pte_write(int argc, const u64 *a) { own_map_attack(a[0], false, true); return 0; }
static int cmd_gib_read(int argc, const u64 *a) { own_map_attack(a[0], true, false); return 0; }
static int cmd_gib_write(int argc, const u64 *a) { own_map_attack(a[0], true, true); return 0; }

const struct atk_cmd map_cmds[] = {
	{ "dmap_read", 1, cmd_dmap_read, "PFN" },
	{ "dmap_write", 1, cmd_dmap_write, "PFN" },
	{ "memremap_read", 1, cmd_memremap_read, "PFN" },
	{ "memremap_write", 1, cmd_memremap_write, "PFN" },
	{ "pte_read", 1, cmd_pte_read, "PFN" },
	{ "pte_write", 1, cmd_pte_write, "PFN" },
	{ "gib_read", 1, cmd_gib_read, "PFN" },
	{ "gib_write", 1, cmd_gib_write, "PFN" },
	{ }
};
