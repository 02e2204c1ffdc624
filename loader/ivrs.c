// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * AMD-Vi units from the ACPI IVRS table (AMD IOMMU spec §5.2): a 48-byte header, then
 * IVHD blocks (one IOMMU each: types 10h, 11h, 40h, which firmware may all list for one
 * unit) and IVMD blocks (memory ranges; vbh's DMA table maps all memory but its own,
 * so they need nothing). An IVHD: type, flags, length, the IOMMU's own device id,
 * capability offset, MMIO base (offset 8), PCI segment (offset 16), then device
 * entries from offset 24 (type 10h) or 40 (11h, 40h). vbh owns every unit from the
 * seal on (docs/iommu.md), so a unit the host's AMD IOMMU driver already runs (IommuEn,
 * CmdBufEn or EventLogEn in its control register) is refused here, before anything is
 * allocated.
 */
#include <linux/acpi.h>
#include <linux/io.h>
#include <linux/kernel.h>

#include "loader.h"

#define VBH_AMDVI_CONTROL 0x18
#define VBH_AMDVI_IOMMU_EN BIT(0)
#define VBH_AMDVI_EVENT_LOG_EN BIT(2)
#define VBH_AMDVI_CMD_BUF_EN BIT(12)

static struct {
	u32 nr;
	u32 devid_last; /* over every unit: the device table's size */
	struct vbh_amdvi_unit u[VBH_MAX_AMDVI_UNITS];
} vbh_ivrs;

static void vbh_ivhd_cover(struct vbh_amdvi_unit *u, u32 first, u32 last)
{
	u->devid_first = min_t(u32, u->devid_first, first);
	u->devid_last = max_t(u32, u->devid_last, last);
}

/*
 * The device ids an IVHD's device entries name (§5.2.2.2): 4-byte entries (types
 * 0-63: 1 all, 2 select, 3 start of range, 4 end of range), 8-byte entries (64-127:
 * 42h alias select, 43h alias range start, 46h extended select, 47h extended range
 * start, 48h special device: the device id at byte 1, an alias or the special
 * device's id at byte 5), and the variable-length ACPI HID entry (F0h, 22 bytes + UID).
 */
static void vbh_ivhd_devices(struct vbh_amdvi_unit *u, const u8 *p, const u8 *end)
{
	u32 start = 0;

	while (p < end) {
		u8 type = p[0];
		u32 len = type < 64 ? 4 : type < 128 ? 8 : type < 192 ? 16 : type == 0xf0 && p + 22 <= end ? 22u + p[21] : 0;
		u16 id;

		if (!len || p + len > end)
			break;
		id = p[1] | p[2] << 8;
		switch (type) {
		case 1:
			vbh_ivhd_cover(u, 0, 0xffff);
			break;
		case 2: case 0x42: case 0x46:
			vbh_ivhd_cover(u, id, id);
			break;
		case 3: case 0x43: case 0x47:
			start = id;
			break;
		case 4:
			vbh_ivhd_cover(u, start, id);
			break;
		case 0x48: /* byte 7, the variety: 1 IOAPIC, 2 HPET, 5 ACPI HID */
			id = p[5] | p[6] << 8;
			vbh_ivhd_cover(u, id, id);
			if (p[7] == 1 && !u->ioapic_devid)
				u->ioapic_devid = id;
			break;
		}
		if (type == 0x42 || type == 0x43)
			vbh_ivhd_cover(u, p[5] | p[6] << 8, p[5] | p[6] << 8);
		p += len;
	}
}

static int vbh_amdvi_check(const struct vbh_amdvi_unit *u)
{
	void __iomem *regs = ioremap(u->mmio_base, PAGE_SIZE);
	u64 control;

	if (!regs)
		return -ENOMEM;
	control = readq(regs + VBH_AMDVI_CONTROL);
	iounmap(regs);
	if (!(control & (VBH_AMDVI_IOMMU_EN | VBH_AMDVI_CMD_BUF_EN | VBH_AMDVI_EVENT_LOG_EN)))
		return 0;
	pr_err(VBH_PFX "AMD-Vi unit %#llx is in use by the host's IOMMU driver (control %#llx:%s%s%s); vbh must own the IOMMU: boot the host with amd_iommu=off\n",
	       u->mmio_base, control, control & VBH_AMDVI_IOMMU_EN ? " translation" : "",
	       control & VBH_AMDVI_CMD_BUF_EN ? " command-buffer" : "",
	       control & VBH_AMDVI_EVENT_LOG_EN ? " event-log" : "");
	return -EBUSY;
}

int vbh_ivrs_read(void)
{
	struct acpi_table_header *h;
	const u8 *p, *end;
	u32 i;
	int err = 0;

	memset(&vbh_ivrs, 0, sizeof(vbh_ivrs));
	if (acpi_disabled || ACPI_FAILURE(acpi_get_table(ACPI_SIG_IVRS, 1, &h)))
		return 0;
	p = (const u8 *)h + sizeof(struct acpi_table_ivrs);
	end = (const u8 *)h + h->length;
	while (!err && p + sizeof(struct acpi_ivrs_header) <= end) {
		const struct acpi_ivrs_header *s = (const void *)p;
		const struct acpi_ivrs_hardware_10 *d = (const void *)p;
		u32 hdr = s->type == ACPI_IVRS_TYPE_HARDWARE1 ? sizeof(struct acpi_ivrs_hardware_10) :
							       sizeof(struct acpi_ivrs_hardware_11);
		struct vbh_amdvi_unit *u = NULL;

		if (s->length < sizeof(*s) || p + s->length > end)
			break;
		p += s->length;
		if ((s->type != ACPI_IVRS_TYPE_HARDWARE1 && s->type != ACPI_IVRS_TYPE_HARDWARE2 &&
		     s->type != ACPI_IVRS_TYPE_HARDWARE3) || s->length < hdr)
			continue;
		for (i = 0; i < vbh_ivrs.nr && !u; i++)
			if (vbh_ivrs.u[i].mmio_base == d->base_address)
				u = &vbh_ivrs.u[i];
		if (!u && (vbh_ivrs.nr == VBH_MAX_AMDVI_UNITS ||
			   (d->base_address & (VBH_AMDVI_MMIO_PAGES * PAGE_SIZE - 1)) || !d->base_address)) {
			pr_err(VBH_PFX "IVRS: unit %u at %#llx unsupported (more than %u units or not 16 KiB aligned)\n",
			       vbh_ivrs.nr, d->base_address, VBH_MAX_AMDVI_UNITS);
			err = -E2BIG;
			break;
		}
		if (!u) {
			u = &vbh_ivrs.u[vbh_ivrs.nr++];
			*u = (struct vbh_amdvi_unit){ .mmio_base = d->base_address, .devid_first = 0xffff };
		}
		if (s->type >= u->ivhd_type) {
			u->ivhd_type = s->type;
			u->ivhd_flags = s->flags;
			u->segment = d->pci_segment_group;
			u->devid = s->device_id;
		}
		vbh_ivhd_devices(u, (const u8 *)s + hdr, (const u8 *)s + s->length);
	}
	acpi_put_table(h);
	for (i = 0; !err && i < vbh_ivrs.nr; i++) {
		struct vbh_amdvi_unit *u = &vbh_ivrs.u[i];

		if (u->devid_first > u->devid_last) /* no device entry: only itself */
			u->devid_first = u->devid_last = u->devid;
		vbh_ivrs.devid_last = max_t(u32, vbh_ivrs.devid_last, u->devid_last);
		pr_info(VBH_PFX "IVRS: AMD-Vi unit %#llx (IVHD %#x, segment %u, iommu %02x:%02x.%u) devices %04x-%04x\n",
			u->mmio_base, u->ivhd_type, u->segment, u->devid >> 8, (u->devid >> 3) & 0x1f,
			u->devid & 7, u->devid_first, u->devid_last);
		err = vbh_amdvi_check(u);
	}
	return err;
}

u32 vbh_amdvi_units(void)
{
	return vbh_ivrs.nr;
}

/* Hypervisor frames the AMD-Vi units need (boot.h vbh_amdvi_frames). */
u64 vbh_amdvi_budget(void)
{
	return vbh_amdvi_frames(vbh_ivrs.nr, vbh_ivrs.devid_last);
}

void vbh_ivrs_fill(struct vbh_boot_record *br)
{
	br->nr_amdvi_units = vbh_ivrs.nr;
	memcpy(br->amdvi_units, vbh_ivrs.u, sizeof(vbh_ivrs.u));
}
