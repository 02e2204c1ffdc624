/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout of the INIT/SIPI payload (sipi_stub.S), shared with sipi.c, which copies it
 * to two pages below 1 MiB and fills in the fields marked "module". Offsets are from
 * the payload's first byte, the SIPI vector's page (P = vector << 12). Included by
 * assembly: defines only.
 */
#ifndef VBH_ATTACK_SIPI_H
#define VBH_ATTACK_SIPI_H

#define SIPI_PM32	0x080	/* 32-bit protected-mode code */
#define SIPI_STARTED	0x200	/* u32: payload, SIPI_STARTED_MAGIC on its first instructions */
#define SIPI_DONE	0x204	/* u32: payload, SIPI_DONE_MAGIC once every target was tried */
#define SIPI_COUNT	0x208	/* u32: module, number of targets (<= SIPI_MAX_TARGETS) */
#define SIPI_IDX	0x20c	/* u32: payload, the target being tried */
#define SIPI_GDTR	0x210	/* module: u16 limit, u32 base (P + SIPI_GDT) */
#define SIPI_IDTR	0x218	/* module: u16 limit, u32 base (P + SIPI_IDT) */
#define SIPI_FARPTR	0x220	/* module: u32 offset (P + SIPI_PM32), u16 selector */
#define SIPI_LATE	0x228	/* u32: payload, last vector taken after the targets */
#define SIPI_GDT	0x230	/* module: null, flat 32-bit code (0x08), flat data (0x10) */
#define SIPI_TARGET	0x248	/* u64[4]: module, physical addresses (< 4 GiB) to read */
#define SIPI_RESULT	0x268	/* u32[4]: payload, 0 untried, SIPI_READ_DONE or SIPI_FAULT|vector */
#define SIPI_DATA	0x278	/* u64[4]: module presets SIPI_POISON, payload stores the 8 bytes */
#define SIPI_STUBS	0x800	/* 256 exception stubs, 8 bytes each, to the end of page 0 */
#define SIPI_IDT	0x1000	/* page 1: the IDT, 256 gates (module) */
#define SIPI_STACK_TOP	0x2000	/* page 1: the stack above the IDT */
#define SIPI_BYTES	0x2000	/* two pages */

#define SIPI_MAX_TARGETS 4
#define SIPI_STARTED_MAGIC 0x54524153	/* "SART" */
#define SIPI_DONE_MAGIC	0x454e4f44	/* "DONE" */
#define SIPI_READ_DONE	1
#define SIPI_FAULT	0x100
#define SIPI_POISON	0x5151515151515151ull
#define SIPI_CS32	0x08
#define SIPI_DS32	0x10

#endif
