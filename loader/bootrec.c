// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The boot record (struct vbh_boot_record, boot.h): what Linux knows of the machine. */
#include <linux/acpi.h>
#include <linux/efi.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/processor.h>
#include <asm/set_memory.h>

#include "loader.h"

static int vbh_add_ram(struct resource *res, void *arg)
{
	struct vbh_ram_map *map = arg;
	u64 base = round_up(res->start, PAGE_SIZE);
	u64 end = round_down(res->end + 1, PAGE_SIZE);
	struct vbh_mem_range *last = map->nr ? &map->r[map->nr - 1] : NULL;

	if (end <= base)
		return 0;
	if (last && last->base + last->size == base) {
		last->size += end - base;
		return 0;
	}
	if (map->nr == VBH_MAX_RAM_RANGES) {
		pr_err(VBH_PFX "more than %u System RAM ranges\n", VBH_MAX_RAM_RANGES);
		return -E2BIG;
	}
	map->r[map->nr++] = (struct vbh_mem_range){ .base = base, .size = end - base };
	return 0;
}

/* Top-level busy "System RAM" resources of /proc/iomem, in address order. */
int vbh_ram_map_read(struct vbh_ram_map *map)
{
	int err;

	map->nr = 0;
	err = walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
				  0, -1, map, vbh_add_ram);
	if (err == -E2BIG)
		return err;
	if (!map->nr) {
		pr_err(VBH_PFX "no System RAM ranges found\n");
		return -ENODEV;
	}
	return 0;
}

/* ACPI 6.5 §5.2.5.3: "RSD PTR " on a 16-byte boundary, bytes 0..19 sum to zero. */
static u64 vbh_scan_rsdp(u64 phys, size_t len)
{
	const u8 *p = memremap(phys, len, MEMREMAP_WB);
	u64 found = 0;
	size_t off, i;

	if (!p)
		return 0;
	for (off = 0; off + 20 <= len && !found; off += 16) {
		u8 sum = 0;

		if (memcmp(p + off, "RSD PTR ", 8))
			continue;
		for (i = 0; i < 20; i++)
			sum += p[off + i];
		if (!sum)
			found = phys + off;
	}
	memunmap((void *)p);
	return found;
}

/*
 * UEFI hands the RSDP over in its configuration table; a BIOS boot (QEMU's SeaBIOS)
 * leaves it in the first KiB of the EBDA or in 0xE0000-0xFFFFF (ACPI 6.5 §5.2.5.1).
 */
static u64 vbh_find_rsdp(void)
{
	u16 *ebda_seg;
	u64 ebda = 0, rsdp;

	if (efi.acpi20 != EFI_INVALID_TABLE_ADDR)
		return efi.acpi20;
	if (efi.acpi != EFI_INVALID_TABLE_ADDR)
		return efi.acpi;
	ebda_seg = memremap(0x40e, sizeof(*ebda_seg), MEMREMAP_WB);
	if (ebda_seg) {
		ebda = (u64)*ebda_seg << 4;
		memunmap(ebda_seg);
	}
	rsdp = ebda >= 0x80000 && ebda < 0xa0000 ? vbh_scan_rsdp(ebda, 1024) : 0;
	return rsdp ? rsdp : vbh_scan_rsdp(0xe0000, 0x20000);
}

static u64 vbh_acpi_table(const char *name)
{
	struct acpi_table_header *h;
	char sig[ACPI_NAMESEG_SIZE + 1];
	u64 phys;

	strscpy(sig, name, sizeof(sig));
	if (acpi_disabled || ACPI_FAILURE(acpi_get_table(sig, 1, &h)))
		return 0;
	phys = slow_virt_to_phys(h);
	acpi_put_table(h);
	return phys;
}

/*
 * VT-d remapping units (VT-d spec §8.1-§8.3): the DMAR table is a 48-byte header and a
 * list of remapping structures (type, length); type 0 (DRHD) is one unit: flags
 * (bit 0 INCLUDE_PCI_ALL), size (bits 3:0, 2^n register pages; 0 on older tables),
 * segment, register base. vbh owns every unit from the seal on (docs/iommu.md), so a
 * unit the host's VT-d driver already runs (translation, interrupt remapping or queued
 * invalidation enabled in GSTS) is refused here, before anything is allocated.
 */
#define VBH_DMAR_GSTS 0x1c
#define VBH_GSTS_TES BIT(31)
#define VBH_GSTS_QIES BIT(26)
#define VBH_GSTS_IRES BIT(25)

static struct {
	u32 nr;
	struct vbh_dmar_unit u[VBH_MAX_DMAR_UNITS];
} vbh_dmar;

static int vbh_dmar_check(const struct vbh_dmar_unit *u)
{
	void __iomem *regs = ioremap(u->reg_base, PAGE_SIZE);
	u32 gsts;

	if (!regs)
		return -ENOMEM;
	gsts = readl(regs + VBH_DMAR_GSTS);
	iounmap(regs);
	if (!(gsts & (VBH_GSTS_TES | VBH_GSTS_QIES | VBH_GSTS_IRES)))
		return 0;
	pr_err(VBH_PFX "VT-d unit %#llx is in use by the host's IOMMU driver (GSTS %#x:%s%s%s); vbh must own the IOMMU: boot the host with intel_iommu=off intremap=off\n",
	       u->reg_base, gsts, gsts & VBH_GSTS_TES ? " translation" : "",
	       gsts & VBH_GSTS_IRES ? " interrupt-remapping" : "",
	       gsts & VBH_GSTS_QIES ? " queued-invalidation" : "");
	return -EBUSY;
}

int vbh_dmar_read(void)
{
	struct acpi_table_header *h;
	const u8 *p, *end;
	u32 i;
	int err = 0;

	vbh_dmar.nr = 0;
	if (acpi_disabled || ACPI_FAILURE(acpi_get_table(ACPI_SIG_DMAR, 1, &h)))
		return 0;
	p = (const u8 *)h + sizeof(struct acpi_table_dmar);
	end = (const u8 *)h + h->length;
	while (!err && p + sizeof(struct acpi_dmar_header) <= end) {
		const struct acpi_dmar_header *s = (const void *)p;
		const struct acpi_dmar_hardware_unit *d = (const void *)p;

		if (s->length < sizeof(*s) || p + s->length > end)
			break;
		p += s->length;
		if (s->type != ACPI_DMAR_TYPE_HARDWARE_UNIT || s->length < sizeof(*d))
			continue;
		if (vbh_dmar.nr == VBH_MAX_DMAR_UNITS || (d->address & ~PAGE_MASK)) {
			pr_err(VBH_PFX "DMAR: unit %u at %#llx unsupported (more than %u units or unaligned)\n",
			       vbh_dmar.nr, d->address, VBH_MAX_DMAR_UNITS);
			err = -E2BIG;
			break;
		}
		vbh_dmar.u[vbh_dmar.nr++] = (struct vbh_dmar_unit){
			.reg_base = d->address,
			/* byte 5: "size" since VT-d 2.x, "reserved" (0) in older headers */
			.reg_pages = 1u << (((const u8 *)d)[5] & 0xf),
			.segment = d->segment,
			.flags = d->flags,
		};
	}
	acpi_put_table(h);
	for (i = 0; !err && i < vbh_dmar.nr; i++)
		err = vbh_dmar_check(&vbh_dmar.u[i]);
	return err;
}

u32 vbh_dmar_units(void)
{
	return vbh_dmar.nr;
}

/*
 * Reset and sleep ports for the hypervisor's I/O permission map (docs/launch.md, "I/O
 * ports"): PM1a/PM1b control and RESET_REG from the FADT (ACPI 6.5 §5.2.9, the 64-bit
 * X_ fields win when set), SLP_TYPa/b of S3-S5 from the DSDT through ACPICA. Read once,
 * here; the hypervisor copies them at init and never looks at ACPI again.
 */
static u16 vbh_fadt_port(u32 legacy, const struct acpi_generic_address *x)
{
	if (x->address && x->space_id == ACPI_ADR_SPACE_SYSTEM_IO && x->address <= 0xffff)
		return (u16)x->address;
	return legacy <= 0xffff ? (u16)legacy : 0;
}

static void vbh_bootrec_acpi_ports(struct vbh_boot_record *br)
{
	static const u8 states[3] = { ACPI_STATE_S3, ACPI_STATE_S4, ACPI_STATE_S5 };
	struct acpi_table_header *h;
	struct acpi_table_fadt *f;
	int i;

	br->acpi_reset_space = VBH_ACPI_SPACE_NONE;
	memset(br->acpi_slp_typ, VBH_SLP_TYP_NONE, sizeof(br->acpi_slp_typ));
	if (acpi_disabled || ACPI_FAILURE(acpi_get_table(ACPI_SIG_FADT, 1, &h)))
		return;
	f = (struct acpi_table_fadt *)h;
	br->acpi_pm1a_cnt = vbh_fadt_port(f->pm1a_control_block, &f->xpm1a_control_block);
	br->acpi_pm1b_cnt = vbh_fadt_port(f->pm1b_control_block, &f->xpm1b_control_block);
	if (h->length >= offsetof(struct acpi_table_fadt, arm_boot_flags) &&
	    (f->flags & ACPI_FADT_RESET_REGISTER) && f->reset_register.address) {
		br->acpi_reset_space = f->reset_register.space_id;
		br->acpi_reset_port = f->reset_register.address;
		br->acpi_reset_value = f->reset_value;
	}
	acpi_put_table(h);
	for (i = 0; i < 3; i++) {
		u8 a, b;

		if (ACPI_SUCCESS(acpi_get_sleep_type_data(states[i], &a, &b))) {
			br->acpi_slp_typ[i][0] = a;
			br->acpi_slp_typ[i][1] = b;
		}
	}
}

void vbh_bootrec_fill(struct vbh_boot_record *br, const struct vbh_hypmem *m,
		      const struct vbh_ram_map *ram, u64 br_offset, u64 flags)
{
	memset(br, 0, sizeof(*br));
	br->magic = VBH_BOOT_MAGIC;
	br->abi_version = VBH_ABI_VERSION;
	br->hyp_virt_base = (u64)m->virt;
	br->hyp_size = (u64)m->nr_pages << PAGE_SHIFT;
	br->boot_record_offset = br_offset;
	br->nr_hyp_ranges = m->nr_ranges;
	memcpy(br->hyp_ranges, m->ranges, m->nr_ranges * sizeof(m->ranges[0]));
	br->nr_ram_ranges = ram->nr;
	memcpy(br->ram_ranges, ram->r, ram->nr * sizeof(ram->r[0]));
	br->nr_cpus = min_t(u32, nr_cpu_ids, VBH_MAX_CPUS);
	br->phys_addr_bits = boot_cpu_data.x86_phys_bits;
	br->acpi_rsdp = vbh_find_rsdp();
	br->acpi_dmar = vbh_acpi_table(ACPI_SIG_DMAR);
	br->acpi_ivrs = vbh_acpi_table(ACPI_SIG_IVRS);
	br->flags = flags;
	br->nr_dmar_units = vbh_dmar.nr;
	memcpy(br->dmar_units, vbh_dmar.u, sizeof(vbh_dmar.u));
	vbh_ivrs_fill(br);
	vbh_bootrec_acpi_ports(br);
	pr_info(VBH_PFX "ports: PM1a_CNT %#x PM1b_CNT %#x RESET_REG space %u at %#llx value %#x, SLP_TYP S3 %u/%u S4 %u/%u S5 %u/%u\n",
		br->acpi_pm1a_cnt, br->acpi_pm1b_cnt, br->acpi_reset_space, br->acpi_reset_port,
		br->acpi_reset_value, br->acpi_slp_typ[0][0], br->acpi_slp_typ[0][1],
		br->acpi_slp_typ[1][0], br->acpi_slp_typ[1][1], br->acpi_slp_typ[2][0],
		br->acpi_slp_typ[2][1]);
	pr_info(VBH_PFX "boot record: %u RAM range(s) up to %#llx, %u CPU id(s), %u physical address bits, RSDP %#llx DMAR %#llx (%u VT-d unit(s)) IVRS %#llx (%u AMD-Vi unit(s))%s\n",
		ram->nr, ram->r[ram->nr - 1].base + ram->r[ram->nr - 1].size, br->nr_cpus,
		br->phys_addr_bits, br->acpi_rsdp, br->acpi_dmar, vbh_dmar.nr, br->acpi_ivrs, br->nr_amdvi_units,
		flags & VBH_BOOT_DEMO_ATTACKABLE ? ", DEMO_ATTACKABLE (test loader)" : "");
}
