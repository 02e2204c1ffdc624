// SPDX-License-Identifier: GPL-2.0
/*
 * DMA attacks (docs/containment.md, attack 13; docs/threats.md #9-#10): the host kernel
 * points a DMA-capable device at a frame it may not touch. The device is QEMU's edu
 * (PCI 1234:11e8, hw/misc/edu.c): BAR0 0x80 DMA source, 0x88 destination, 0x90 count,
 * 0x98 command (bit 0 start, bit 1 direction: 1 = device buffer to RAM, bit 2 raise an
 * interrupt); its 4 KiB buffer sits at device address 0x40000 and is reached only by
 * DMA. A transfer runs from a 100 ms virtual-time timer; bit 0 of the command clears
 * when it is done. Transfers stay within 2 KiB: QEMU 7.2 aborts on one touching the
 * buffer's last byte (docs/platform.md). The boot gives edu a 48-bit dma_mask (its
 * default 28 bits would clamp every address above 256 MiB).
 * Addresses are physical: the host's IOMMU driver is off (intel_iommu=off), so the
 * only translation a device meets is vbh's identity map of the host's frames.
 */
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include "attack.h"
#include "probe.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_SRC 0x80
#define EDU_DST 0x88
#define EDU_CNT 0x90
#define EDU_CMD 0x98
#define EDU_CMD_RUN 0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_BUF 0x40000ull
#define EDU_CHUNK 2048u
#define MARKER 0xd3a0d3a0d3a0d3a0ull /* the device buffer's contents before a read */

static struct pci_dev *edu;
static void __iomem *edu_bar;
static struct page *bounce; /* an ordinary host page the device may use */
static struct page *preset; /* MARKER words, copied into the device buffer first */

static int edu_get(void)
{
	if (edu_bar)
		return 0;
	edu = pci_get_device(EDU_VENDOR, EDU_DEVICE, NULL);
	if (!edu) {
		out("result=unsupported reason=no_edu_device\n");
		return -ENODEV;
	}
	if (pci_enable_device(edu) || !(edu_bar = pci_iomap(edu, 0, 0x100))) {
		out("result=error reason=edu_enable\n");
		return -EIO;
	}
	pci_set_master(edu);
	bounce = alloc_page(GFP_KERNEL | __GFP_ZERO);
	preset = alloc_page(GFP_KERNEL);
	if (!bounce || !preset) {
		out("result=error reason=no_memory\n");
		return -ENOMEM;
	}
	memset64(page_address(preset), MARKER, PAGE_SIZE / 8);
	return 0;
}

/* One transfer of len bytes between RAM at phys and the device buffer at off. */
static int edu_dma(bool to_ram, u64 phys, u64 off, u64 len)
{
	int ms;

	writeq(to_ram ? EDU_BUF + off : phys, edu_bar + EDU_SRC);
	writeq(to_ram ? phys : EDU_BUF + off, edu_bar + EDU_DST);
	writeq(len, edu_bar + EDU_CNT);
	writeq(EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0), edu_bar + EDU_CMD);
	for (ms = 0; ms < 5000; ms += 10) {
		if (!(readq(edu_bar + EDU_CMD) & EDU_CMD_RUN))
			return 0;
		msleep(10);
	}
	out("result=error reason=edu_timeout\n");
	return -ETIMEDOUT;
}

static void fill_bounce(u64 seed)
{
	u64 *w = page_address(bounce);
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = pattern_word(seed, i);
}

/*
 * dma_read PFN: the device reads the 4 KiB frame (two halves) into its buffer, which
 * was preset to MARKER, and hands it back through the bounce page. Reports the hash of
 * what it saw (FNV-1a, as "hash PFN 1") and how many words are neither MARKER nor zero:
 * a read the IOMMU refused leaves MARKER or zeros (QEMU fills a failed read with 0).
 */
static int cmd_dma_read(int argc, const u64 *a)
{
	const u64 *w;
	unsigned int i, leaked = 0;
	u64 half;
	int err = edu_get();

	if (err)
		return 0;
	for (half = 0; half < PAGE_SIZE && !err; half += EDU_CHUNK) {
		err = edu_dma(false, page_to_phys(preset), 0, EDU_CHUNK);
		if (!err)
			err = edu_dma(false, PFN_PHYS(a[0]) + half, 0, EDU_CHUNK);
		if (!err)
			err = edu_dma(true, page_to_phys(bounce) + half, 0, EDU_CHUNK);
	}
	if (err)
		return 0;
	w = page_address(bounce);
	for (i = 0; i < PAGE_SIZE / 8; i++)
		leaked += w[i] != MARKER && w[i] != 0;
	out("result=read hash=0x%llx data_words=%u\n",
	    fnv1a64(FNV1A64_INIT, w, PAGE_SIZE), leaked);
	return 0;
}

/* dma_write PFN SEED: the device writes pattern_word(SEED, i) over the whole frame
 * (what "fill PFN 1 SEED" writes from the CPU, so "hash PFN 1" tells if it landed). */
static int cmd_dma_write(int argc, const u64 *a)
{
	u64 half;
	int err = edu_get();

	if (err || !a[1])
		return err ? 0 : -EINVAL;
	fill_bounce(a[1]);
	for (half = 0; half < PAGE_SIZE && !err; half += EDU_CHUNK) {
		err = edu_dma(false, page_to_phys(bounce) + half, 0, EDU_CHUNK);
		if (!err)
			err = edu_dma(true, PFN_PHYS(a[0]) + half, 0, EDU_CHUNK);
	}
	if (!err)
		out("result=done\n");
	return 0;
}

/* dma_poke PHYS VALUE: the device writes 8 bytes at PHYS (an MMIO register too). */
static int cmd_dma_poke(int argc, const u64 *a)
{
	int err = edu_get();

	if (err)
		return 0;
	*(u64 *)page_address(bounce) = a[1];
	err = edu_dma(false, page_to_phys(bounce), 0, 8);
	if (!err)
		err = edu_dma(true, a[0], 0, 8);
	if (!err)
		out("result=done\n");
	return 0;
}

/* mmio_rw PHYS VALUE: the CPU writes VALUE to the 8-byte register at PHYS and reads it
 * back (uncached mapping); a refused access is a trap. */
static int cmd_mmio_rw(int argc, const u64 *a)
{
	void __iomem *p = ioremap(a[0] & PAGE_MASK, PAGE_SIZE);
	u64 back = 0;
	int trap;

	if (!p) {
		out("result=error reason=ioremap\n");
		return 0;
	}
	trap = probe_write64((void __force *)p + offset_in_page(a[0]), a[1]);
	if (trap == PROBE_OK)
		trap = probe_read64((void __force *)p + offset_in_page(a[0]), &back);
	iounmap(p);
	if (trap != PROBE_OK)
		out("result=fault trap=%d\n", trap);
	else
		out("result=%s readback=0x%llx\n", back == a[1] ? "landed" : "not_landed", back);
	return 0;
}

/* mmio_read PHYS: one 8-byte uncached read (e.g. a VT-d register, for the scripts). */
static int cmd_mmio_read(int argc, const u64 *a)
{
	void __iomem *p = ioremap(a[0] & PAGE_MASK, PAGE_SIZE);
	u64 v = 0;
	int trap;

	if (!p) {
		out("result=error reason=ioremap\n");
		return 0;
	}
	trap = probe_read64((void __force *)p + offset_in_page(a[0]), &v);
	iounmap(p);
	if (trap != PROBE_OK)
		out("result=fault trap=%d\n", trap);
	else
		out("result=read value=0x%llx\n", v);
	return 0;
}

const struct atk_cmd dma_cmds[] = {
	{ "dma_read", 1, cmd_dma_read, "PFN" },
	{ "dma_write", 2, cmd_dma_write, "PFN SEED" },
	{ "dma_poke", 2, cmd_dma_poke, "PHYS VALUE" },
	{ "mmio_rw", 2, cmd_mmio_rw, "PHYS VALUE" },
	{ "mmio_read", 1, cmd_mmio_read, "PHYS" },
	{ }
};
