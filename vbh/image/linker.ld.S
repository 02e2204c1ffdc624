/* Preprocessed with cpp (image_abi.h). The hypervisor image: one position-independent blob linked at 0, run at
 * hyp_virt_base (boot.h). Header first; text; read-only data and relocations; data;
 * bss. Page-aligned boundaries so the hypervisor's own tables can map text R X,
 * read-only data R, data/bss R W NX (paging.cpp). */
#include "image_abi.h"
OUTPUT_FORMAT("elf64-x86-64")
ENTRY(vbh_init)

SECTIONS
{
	. = 0;
	__image_start = .;
	/* struct vbh_image_header (boot.h), computed at link time: no relocation. */
	.vbh_header : {
		LONG(VBH_IMAGE_MAGIC_ASM)
		LONG(VBH_ABI_VERSION_ASM)
		QUAD(__file_end - __image_start)
		QUAD(__image_end - __image_start)
		QUAD(vbh_init - __image_start)
		QUAD(vbh_launch_entry - __image_start)
	}
	.text : { *(.text .text.*) }
	. = ALIGN(4096);
	__text_end = .;

	.rodata : { *(.rodata .rodata.*) }
	.data.rel.ro : { *(.data.rel.ro .data.rel.ro.*) }
	.got : { *(.got) *(.got.plt) }
	.dynamic : { *(.dynamic) }
	.dynsym : { *(.dynsym) }
	.dynstr : { *(.dynstr) }
	.hash : { *(.hash) }
	.gnu.hash : { *(.gnu.hash) }
	.rela.dyn : {
		__rela_start = .;
		*(.rela.*)
		__rela_end = .;
	}
	. = ALIGN(4096);
	__ro_end = .;

	.data : {
		*(.data .data.*)
		. = ALIGN(8);
		__file_end = .;
	}
	.bss : {
		__bss_start = .;
		*(.bss .bss.*)
		*(COMMON)
	}
	. = ALIGN(4096);
	__image_end = .;

	/DISCARD/ : { *(.note*) *(.comment) *(.eh_frame*) *(.interp) }
}
