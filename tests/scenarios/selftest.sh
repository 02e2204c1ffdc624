# shellcheck shell=dash
# boot: --timeout 120
# Self-test of the qemu-nested pipeline with vbh_testmod (qemu-nested/testmod), not of
# vbh: the module built by build.sh loads into the booted kernel, runs on every CPU,
# reports through sysfs; its refusal path leaves the system unchanged; the QEMU machine
# has SVM, NPT and the VT-d IOMMU that the vbh scenarios rely on, with the host's own
# IOMMU driver off (intel_iommu=off: vbh owns the unit, docs/iommu.md).
# vbh.selftest_fail=1 adds one deliberately failing check (test.sh proves that boot.sh
# then reports failure).
mod=/lib/vbh/modules/vbh_testmod.ko
sys=/sys/kernel/vbh_testmod/status

check cpu_has_svm cpu_has svm
check cpu_has_npt cpu_has npt
expect_dmesg iommu_table 'ACPI: DMAR 0x'
expect_dmesg iommu_host_driver_off 'DMAR: IOMMU disabled'

mark=$(dmesg_mark)
before=$(modules_now)
if insmod "$mod" fail=1 2>/dev/null; then fail refusal_fails "insmod fail=1 succeeded"
else pass refusal_fails "insmod fail=1 was refused"; fi
expect_dmesg refusal_logged 'vbh_testmod: refusing to load' "$mark"
same refusal_no_module "$before" "$(modules_now)"
check refusal_no_sysfs test ! -e "$sys"

check insmod insmod "$mod"
expect_dmesg load_logged 'vbh_testmod: ran on [0-9]+ of [0-9]+ online cpus' "$mark"
check_status status "$sys"
workload workload "$(param workload_secs 5)"
check rmmod rmmod vbh_testmod
same unload_clean "$before" "$(modules_now)"
dmesg_clean kernel_log_clean "$mark"

[ "$(param selftest_fail 0)" = 1 ] && fail deliberate_failure "vbh.selftest_fail=1"
true
