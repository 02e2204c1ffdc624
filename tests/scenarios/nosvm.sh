# shellcheck shell=dash
# boot: --cpu EPYC,-svm,-npt --timeout 150
# A CPU without SVM, or with SVM but without NPT (--cpu EPYC,+svm,-npt): insmod vbh.ko
# must fail with a clear kernel log message and leave the system as it was (no module,
# no running hypervisor, Linux keeps working).
#   vbh.workload_secs=N   workload after the refused insmod (default 10)
ko=/lib/vbh/vbh.ko

have=$(for f in svm npt; do cpu_has $f && printf '%s ' $f; done)
if [ "$have" = "svm npt " ]; then  # else this boot would not test the refusal path
  fail cpu_lacks_svm_or_npt "the CPU model has svm and npt: boot with --cpu EPYC,-svm,-npt"
  exit 0
fi
pass cpu_lacks_svm_or_npt "/proc/cpuinfo has: ${have:-neither svm nor npt}"
if [ ! -r "$ko" ]; then fail module_present "$ko is not in the initramfs"; exit 0; fi

mark=$(dmesg_mark)
before=$(modules_now)
# shellcheck disable=SC2046 # word splitting of the parameters is intended
if insmod "$ko" $(param insmod_args | tr ',' ' ') > /tmp/vbh/insmod.out 2>&1; then
  fail insmod_refused "insmod succeeded on a CPU without SVM"
else
  pass insmod_refused "$(cat /tmp/vbh/insmod.out)"
fi
# The message must name what is missing.
if cpu_has svm; then why='vbh.*(NPT|npt|nested pag)'; else why='vbh.*(SVM|svm)'; fi
expect_dmesg refusal_explained "$why" "$mark"
same lsmod_unchanged "$before" "$(modules_now)"
check no_vbh_module test ! -e /sys/module/vbh
state=$(kv state "$(cat /sys/kernel/vbh/status 2>/dev/null)")
if [ "$state" = running ]; then fail not_running "/sys/kernel/vbh/status says running"
else pass not_running "state: ${state:-no /sys/kernel/vbh}"; fi

workload workload "$(param workload_secs 10)"
dmesg_clean kernel_log_clean "$mark"
