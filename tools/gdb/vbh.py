"""gdb commands for vbh (docs/debugging.md). Sourced by tools/gdb/vbh.gdb.

vbh-symbols LOG [KO [ELF]]
    LOG: a serial log of the "debug" scenario (tests/scenarios/debug.sh), whose
    "VBH-INFO gdb-section NAME ADDR" lines say where Linux put each section of vbh.ko
    (/sys/module/vbh/sections). Loads KO (default out/qemu/vbh.ko, the module packed
    into the initramfs) there, reads vbh_loader.mem.virt from the module's .bss (the
    hypervisor's base address, hyp_virt_base of the boot record: the loader logs it only
    as a hashed %p) and loads ELF (default build/qemu/vbh/image/vbh.elf, the image
    before objcopy to vbh.bin) at that offset. The image is linked at 0 and relocated
    to hyp_virt_base by its init(); the hypervisor's own page tables map it at the same
    virtual address as the loader's vmap (docs/launch.md), so its symbols + base are
    the addresses TCG's breakpoints compare against.

The module's memory is read while the CPU gdb looks at runs Linux (guest mode: Linux's
page tables map the module); the hypervisor's memory can only be read while stopped
inside the hypervisor (its page tables), e.g. at a breakpoint there.
"""
import os
import re

import gdb

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECTION = re.compile(r"VBH-INFO gdb-section (\S+) (0x[0-9a-f]+)")


def module_sections(log):
    """The last module load's {section: address} from the serial log."""
    sections = {}
    with open(log, "rb") as f:
        for line in f.read().decode("utf-8", "replace").splitlines():
            m = SECTION.search(line)
            if m:
                sections[m.group(1)] = int(m.group(2), 16)
    if ".text" not in sections:
        raise gdb.GdbError(f"{log}: no 'VBH-INFO gdb-section .text' line (boot the debug scenario)")
    return sections


class VbhSymbols(gdb.Command):
    """vbh-symbols LOG [KO [ELF]]: load vbh.ko and hypervisor image symbols."""

    def __init__(self):
        super().__init__("vbh-symbols", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        if not args:
            raise gdb.GdbError("usage: vbh-symbols LOG [KO [ELF]]")
        log = args[0]
        ko = args[1] if len(args) > 1 else os.path.join(ROOT, "out/qemu/vbh.ko")
        elf = args[2] if len(args) > 2 else os.path.join(ROOT, "build/qemu/vbh/image/vbh.elf")
        sections = module_sections(log)
        # .symtab/.strtab are the kernel's kallsyms copies, not sections of the file.
        extra = " ".join(f"-s {name} {addr:#x}" for name, addr in sorted(sections.items())
                         if name not in (".text", ".symtab", ".strtab"))
        gdb.execute(f"add-symbol-file {ko} {sections['.text']:#x} {extra}")
        base = int(gdb.parse_and_eval("(unsigned long)vbh_loader.mem.virt"))
        if base == 0:
            raise gdb.GdbError("vbh_loader.mem.virt is 0: the hypervisor is not loaded")
        gdb.execute(f"add-symbol-file {elf} -o {base:#x}")
        gdb.set_convenience_variable("vbh_base", base)
        print(f"vbh: vbh.ko .text at {sections['.text']:#x}, hypervisor image at {base:#x} "
              f"($vbh_base)")


VbhSymbols()
