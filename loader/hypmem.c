// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Hypervisor memory: zeroed, physically contiguous chunks (order <= 10) mapped back
 * to back with vmap, then made executable. boot.h: the hypervisor runs at
 * hyp_virt_base in its own page tables, and every byte of it is removed from the
 * host's NPT at launch. vmap() forces NX whatever protection it is given (since
 * Linux 5.8) and set_memory_x() is not exported, so the loader clears NX in the
 * vmap's own PTEs (the direct-map alias stays NX).
 *
 * After the seal the loader hides the host mapping (clears the vmap PTEs but keeps the
 * virtual range reserved) so no kernel code reads through it by accident (/proc/kcore,
 * vread); a CPU that comes online later reveals it again for the length of its launch
 * call, because the hypervisor must run at the same virtual address (see hotplug.c).
 * The frames also stay in the kernel's direct map: the NPT, not the host page tables,
 * is what keeps the host out.
 */
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>

#include "loader.h"

#define VBH_CHUNK_ORDER 10u /* 4 MiB: the largest order both 6.1 and 6.12 hand out */
#define VBH_NOT_HEAD 0xffu  /* orders[i] of a page that does not start a chunk */

/*
 * The automatic size, part by part (boot.h "Sizing", docs/loader.md "Memory sizing"):
 * base_bytes (the image and the boot record); VBH_PERCPU_FRAMES per CPU the boot
 * record allows; the ownership table (2 bytes per 4 KiB frame below the top of RAM);
 * the tables init() builds (VBH_TABLES_FRAMES; two directories per GiB of RAM, in the
 * DMA mirror and the hypervisor's direct map; a leaf table per 2 MiB of hypervisor
 * memory, which its own tables map with 4 KiB pages; VBH_FRAMES_PER_RANGE for each
 * hypervisor range beyond VBH_BUDGET_RANGES: its edges split the tables); the split
 * reserve of the host NPT and of its DMA mirror; the AMD-Vi device table and rings
 * (vbh_amdvi_frames, boot.h); 1/1024 of it all for the stack of
 * retired tables (vbh/image/memory.hpp).
 */
u64 vbh_hypmem_default_size(u64 base_bytes, const struct vbh_ram_map *ram, u32 nr_ranges)
{
	u64 ram_bytes = 0, top = ram->r[ram->nr - 1].base + ram->r[ram->nr - 1].size, frames;
	u32 cpus = min_t(u32, nr_cpu_ids, VBH_MAX_CPUS), i;

	for (i = 0; i < ram->nr; i++)
		ram_bytes += ram->r[i].size;
	frames = (u64)cpus * VBH_PERCPU_FRAMES + VBH_TABLES_FRAMES +
		 DIV_ROUND_UP((top >> PAGE_SHIFT) * 2, PAGE_SIZE) +
		 2 * vbh_split_reserve_frames(ram_bytes);
	frames += 2 * (ram_bytes >> 30) + vbh_amdvi_budget();
	if (nr_ranges > VBH_BUDGET_RANGES)
		frames += (u64)(nr_ranges - VBH_BUDGET_RANGES) * VBH_FRAMES_PER_RANGE;
	frames += DIV_ROUND_UP(frames, 512) + DIV_ROUND_UP(frames, 1024);
	return PAGE_ALIGN(base_bytes) + frames * PAGE_SIZE;
}

static struct page *vbh_alloc_chunk(unsigned long want, unsigned int *order)
{
	unsigned int o = min_t(unsigned int, VBH_CHUNK_ORDER, ilog2(want));
	struct page *p;

	for (;; o--) {
		/* Fall back to smaller chunks quickly rather than reclaim hard. */
		gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN | (o ? __GFP_NORETRY : 0);

		p = alloc_pages(gfp, o);
		if (p || !o)
			break;
	}
	*order = o;
	return p;
}

static int vbh_add_range(struct vbh_hypmem *m, u64 base, u64 size)
{
	struct vbh_mem_range *last = m->nr_ranges ? &m->ranges[m->nr_ranges - 1] : NULL;

	if (last && last->base + last->size == base) {
		last->size += size;
		return 0;
	}
	if (m->nr_ranges == VBH_MAX_HYP_RANGES) {
		pr_err(VBH_PFX "memory too fragmented: more than %u physical ranges\n",
		       VBH_MAX_HYP_RANGES);
		return -ENOMEM;
	}
	m->ranges[m->nr_ranges++] = (struct vbh_mem_range){ .base = base, .size = size };
	return 0;
}

static int vbh_alloc_pages(struct vbh_hypmem *m, unsigned long n)
{
	while (m->nr_pages < n) {
		unsigned int order, i;
		struct page *p = vbh_alloc_chunk(n - m->nr_pages, &order);

		if (!p) {
			pr_err(VBH_PFX "out of memory after %lu of %lu pages\n", m->nr_pages, n);
			return -ENOMEM;
		}
		/* Freed whole on rollback: high orders go straight back to the buddy
		 * allocator instead of lingering on per-CPU lists. */
		m->orders[m->nr_pages] = order;
		for (i = 0; i < (1u << order); i++)
			m->pages[m->nr_pages++] = p + i;
		if (vbh_add_range(m, page_to_phys(p), PAGE_SIZE << order))
			return -ENOMEM;
	}
	return 0;
}

static int vbh_hypmem_make_exec(struct vbh_hypmem *m);

int vbh_hypmem_alloc(struct vbh_hypmem *m, u64 bytes)
{
	unsigned long n = bytes >> PAGE_SHIFT;
	int err;

	memset(m, 0, sizeof(*m));
	m->pages = kvcalloc(n, sizeof(*m->pages), GFP_KERNEL);
	m->saved_ptes = kvcalloc(n, sizeof(*m->saved_ptes), GFP_KERNEL);
	m->orders = kvmalloc(n, GFP_KERNEL);
	if (!m->pages || !m->saved_ptes || !m->orders) {
		err = -ENOMEM;
		goto fail;
	}
	memset(m->orders, VBH_NOT_HEAD, n);
	err = vbh_alloc_pages(m, n);
	if (err)
		goto fail;
	m->virt = vmap(m->pages, n, VM_MAP, PAGE_KERNEL);
	if (!m->virt) {
		pr_err(VBH_PFX "vmap of %lu pages failed\n", n);
		err = -ENOMEM;
		goto fail;
	}
	err = vbh_hypmem_make_exec(m);
	if (err)
		goto fail;
	return 0;
fail:
	vbh_hypmem_free(m);
	return err;
}

/* Only before launch, or after a rolled-back launch: never once a CPU is sealed in. */
void vbh_hypmem_free(struct vbh_hypmem *m)
{
	unsigned long i;

	if (m->virt)
		vunmap(m->virt);
	for (i = 0; m->pages && i < m->nr_pages; i++)
		if (m->orders[i] != VBH_NOT_HEAD)
			__free_pages(m->pages[i], m->orders[i]);
	kvfree(m->pages);
	kvfree(m->orders);
	kvfree(m->saved_ptes);
	memset(m, 0, sizeof(*m));
}

static void vbh_flush_tlb(void *unused)
{
	__flush_tlb_all();
}

static pte_t *vbh_pte(const struct vbh_hypmem *m, unsigned long i)
{
	unsigned int level;
	pte_t *pte = lookup_address((unsigned long)m->virt + i * PAGE_SIZE, &level);

	return pte && level == PG_LEVEL_4K ? pte : NULL;
}

static int vbh_check_ptes(const struct vbh_hypmem *m)
{
	unsigned long i;

	for (i = 0; i < m->nr_pages; i++) {
		pte_t *pte = vbh_pte(m, i);

		if (!pte || !pte_present(*pte) || pte_pfn(*pte) != page_to_pfn(m->pages[i])) {
			pr_err(VBH_PFX "unexpected host mapping of hypervisor page %lu\n", i);
			return -EFAULT;
		}
	}
	return 0;
}

static int vbh_hypmem_make_exec(struct vbh_hypmem *m)
{
	unsigned long i;
	int err = vbh_check_ptes(m);

	if (err)
		return err;
	for (i = 0; i < m->nr_pages; i++) {
		pte_t *pte = vbh_pte(m, i);

		set_pte(pte, pte_mkexec(*pte));
	}
	/* Any CPU may call init or launch: none may keep an NX translation. */
	on_each_cpu(vbh_flush_tlb, NULL, 1);
	return 0;
}

/* Validate every PTE first, then clear them all: never a half-hidden mapping. */
int vbh_hypmem_hide(struct vbh_hypmem *m)
{
	unsigned long i;
	int err = vbh_check_ptes(m);

	if (err)
		return err;
	for (i = 0; i < m->nr_pages; i++) {
		pte_t *pte = vbh_pte(m, i);

		m->saved_ptes[i] = *pte;
		set_pte(pte, __pte(0));
	}
	on_each_cpu(vbh_flush_tlb, NULL, 1);
	m->hidden = true;
	return 0;
}

/* x86 does not cache non-present entries, so restoring needs no TLB flush. */
void vbh_hypmem_reveal(struct vbh_hypmem *m)
{
	unsigned long i;

	if (!m->hidden)
		return;
	for (i = 0; i < m->nr_pages; i++)
		set_pte(vbh_pte(m, i), m->saved_ptes[i]);
	m->hidden = false;
}
