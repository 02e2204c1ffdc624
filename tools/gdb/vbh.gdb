# gdb setup for vbh under QEMU's gdb stub (qemu-nested/boot.sh --gdb; docs/debugging.md).
# From the repository root:
#   gdb -x tools/gdb/vbh.gdb -ex 'target remote :1234'
#   (gdb) continue          # Linux boots; the "debug" scenario loads vbh.ko and prints
#   ^C                      #   its sections to the serial log; then stop the machine
#   (gdb) vbh-symbols out/qemu/logs/last.log
#   (gdb) break 'vbh::local_hypercall<vbh::image::HypEnv>'
# vbh-symbols (vbh.py) loads vbh.ko's symbols at its sections and the hypervisor image's
# (vbh.elf, linked at 0) at the address where the loader placed it.
set pagination off
set confirm off
set print pretty on
source tools/gdb/vbh.py
