# shellcheck shell=dash
# boot: --smp 2 --timeout 300
# Issue 15, point 2: the hypervisor's memory by part at the guest's RAM size. Loads
# vbh.ko and nothing else, then reports (lib.sh footprint_report) the sum of hyp_ranges,
# System RAM, the target (8 MiB + 0.2 % of RAM) and every part of
# /sys/kernel/vbh/footprint; footprint_target fails if the parts do not add up to
# hyp_ranges or the total is above the target. The bench boot reports the same at 1 GiB;
# test.sh boots this one with --mem 2G and --mem 4G for the report's other rows.
# vbhctl status must show the parts too, and the loader's boot-log line must name them.
#   vbh.insmod_args=a=1,b=2   vbh.ko parameters (commas become spaces), e.g. hyp_mem_mb=19
ko=/lib/vbh/vbh.ko
mark=$(dmesg_mark)
# shellcheck disable=SC2046 # word splitting of the parameters is intended
out=$(insmod "$ko" $(param insmod_args | tr ',' ' ') 2>&1) ||
  { fail footprint_launch "insmod vbh.ko: $out"; exit 0; }
check_status footprint_launch /sys/kernel/vbh/status
footprint_report footprint_target
st=$(vbhctl status 2>&1)
case $st in
  *"hypervisor memory: "*" KiB ("*"% of "*"frame_table"*"pool"*) pass footprint_vbhctl "$(echo "$st" | sed -n 2p)" ;;
  *) fail footprint_vbhctl "vbhctl status shows no parts: $st" ;;
esac
echo "$st" | sed 's/^/VBH-INFO vbhctl status: /'
expect_dmesg footprint_boot_log "vbh: hypervisor memory [0-9]+ KiB, .* of [0-9]+ MiB RAM: image .*, pool [0-9]+ KiB" "$mark"
dmesg_clean footprint_kernel_log "$mark"
