# shellcheck shell=dash
# boot: --cpu EPYC,-svm,-npt --timeout 150
# A CPU without SVM/NPT: insmod vbh.ko must fail with a clear kernel log message and
# leave the system as it was (no module, no running hypervisor, Linux keeps working).
#   vbh.workload_secs=N   workload after the refused insmod (default 10)
ko=/lib/vbh/vbh.ko

if cpu_has svm || cpu_has npt; then  # else this boot would not test the no-SVM path
  fail cpu_lacks_svm "the CPU model reports svm or npt: boot with --cpu EPYC,-svm,-npt"
  exit 0
fi
pass cpu_lacks_svm "no svm/npt in /proc/cpuinfo"
if [ ! -r "$ko" ]; then fail module_present "$ko is not in the initramfs"; exit 0; fi

mark=$(dmesg_mark)
before=$(modules_now)
# shellcheck disable=SC2046 # word splitting of the parameters is intended
if insmod "$ko" $(param insmod_args | tr ',' ' ') > /tmp/vbh/insmod.out 2>&1; then
  fail insmod_refused "insmod succeeded on a CPU without SVM"
else
  pass insmod_refused "$(cat /tmp/vbh/insmod.out)"
fi
expect_dmesg refusal_explained 'vbh.*(SVM|NPT|svm|npt|nested pag)' "$mark"
same lsmod_unchanged "$before" "$(modules_now)"
check no_vbh_module test ! -e /sys/module/vbh
state=$(kv state "$(cat /sys/kernel/vbh/status 2>/dev/null)")
if [ "$state" = running ]; then fail not_running "/sys/kernel/vbh/status says running"
else pass not_running "state: ${state:-no /sys/kernel/vbh}"; fi

workload workload "$(param workload_secs 10)"
dmesg_clean kernel_log_clean "$mark"
