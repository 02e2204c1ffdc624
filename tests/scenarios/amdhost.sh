# shellcheck shell=dash
# boot: --iommu amd-host --timeout 150
# A host whose AMD IOMMU driver owns the AMD-Vi unit (QEMU's amd-iommu, the host booted
# without amd_iommu=off: the driver enables translation, the command buffer and the
# event log): vbh cannot own the unit, so insmod vbh.ko must fail with a message naming
# the boot parameter, and leave the system as it was (docs/iommu.md, "The host's boot
# configuration (AMD-Vi)"; the VT-d counterpart is iommuhost.sh).
ko=/lib/vbh/vbh.ko

case " $(cat /proc/cmdline) " in
  *" amd_iommu=off "*) fail host_amd_iommu_on "amd_iommu=off on the command line (boot with --iommu amd-host)"; exit 0 ;;
esac
# The driver registers the unit in /sys/class/iommu (ivhd0) once it has set it up and
# says "AMD-Vi: ..."; without an IVRS table there is nothing to refuse.
units=$(cd /sys/class/iommu 2>/dev/null && echo *)
if [ -r /sys/firmware/acpi/tables/IVRS ] && [ -n "$units" ] && [ "$units" != '*' ]; then
  pass host_amd_iommu_on "host driver owns $units $(dmesg | grep -m1 'AMD-Vi: ')"
else
  fail host_amd_iommu_on "no IOMMU registered by the host's AMD driver (boot with --iommu amd-host)"; exit 0
fi
if [ ! -r "$ko" ]; then fail module_present "$ko is not in the initramfs"; exit 0; fi

mark=$(dmesg_mark)
insmod_refused "$ko" refusal_names_boot_parameter 'vbh: AMD-Vi unit .* in use by the host.*amd_iommu=off' "$mark"
workload workload 2
dmesg_clean kernel_log_clean "$mark"
