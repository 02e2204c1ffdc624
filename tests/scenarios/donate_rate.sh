# shellcheck shell=dash
# boot: --smp 2 --timeout 300 --iommu none
# Issue 11's donate + scrub cost without an IOMMU (docs/benchmarks.md, "Donate and
# scrub"): QEMU with no IOMMU device, so the firmware has no DMAR or IVRS table and vbh
# owns no unit (status iommu=none): a donation edits the host NPT only. The bench boot
# runs the same loops with the VT-d unit owned (bench.sh, donate_bench): the two boots
# together give the IOMMU's share. Ownership is decided at launch from the firmware's
# tables, so the two cannot be one boot. qemu-nested/test.sh's bench-report step boots
# this (about 40-70 s) and hands its log to tools/report/run.sh --donate-log. Booted
# with an IOMMU (boot.sh --scenario donate_rate --iommu intel) it measures the owned
# case the same way, in a boot of the same kind.
ko=/lib/vbh/vbh.ko
mark=$(dmesg_mark)
if ! insmod "$ko" > /tmp/vbh/insmod.out 2>&1; then
  fail vbh_launch "$(cat /tmp/vbh/insmod.out) $(dmesg | tail -n3)"
  exit 0
fi
check_status vbh_status /sys/kernel/vbh/status
donate_bench
check_status vbh_still_running /sys/kernel/vbh/status
dmesg_clean kernel_log_clean "$mark"
