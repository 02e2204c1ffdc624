# shellcheck shell=dash
# boot: --timeout 150 --append intel_iommu=on
# A host whose VT-d driver owns the IOMMU (intel_iommu=on: DMA translation and queued
# invalidation enabled): vbh cannot own the unit, so insmod vbh.ko must fail with a
# message naming the boot parameters, and leave the system as it was (docs/iommu.md,
# "The host's boot configuration").
ko=/lib/vbh/vbh.ko

case " $(cat /proc/cmdline) " in
  *" intel_iommu=on "*) pass host_iommu_on "$(dmesg | grep -m1 -E 'DMAR: (IOMMU enabled|dmar0)')" ;;
  *) fail host_iommu_on "boot with --append intel_iommu=on"; exit 0 ;;
esac
if [ ! -r "$ko" ]; then fail module_present "$ko is not in the initramfs"; exit 0; fi

mark=$(dmesg_mark)
insmod_refused "$ko" refusal_names_boot_parameter 'vbh: VT-d unit .* in use by the host.*intel_iommu=off intremap=off' "$mark"
workload workload 5
dmesg_clean kernel_log_clean "$mark"
