/*
 * kvmprobe: how far the host's KVM gets on top of vbh without running a guest
 * (tests/scenarios/svm_e2e.sh). Opens /dev/kvm, creates one VM and one vCPU and
 * prints key=value results; with "hold" it then keeps them open until killed, so the
 * VM is created once and never destroyed during the boot (each first-VM creation
 * and last-VM destruction patches KVM's static keys, which QEMU TCG races with on
 * another vCPU: docs/platform.md). KVM_RUN is never issued: VMRUN is not emulated
 * yet, and kvm_amd's __svm_vcpu_run (arch/x86/kvm/svm/vmenter.S) answers the #UD
 * with ud2, a kernel BUG.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int kvm, vm, vcpu, api;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("result=no_dev_kvm errno=%d (%s)\n", errno, strerror(errno));
		return 1;
	}
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("api=%d result=create_vm_failed errno=%d (%s)\n", api, errno, strerror(errno));
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		printf("api=%d vm=ok result=create_vcpu_failed errno=%d (%s)\n", api, errno,
		       strerror(errno));
		return 1;
	}
	printf("api=%d vm=ok vcpu=ok mmap_size=%d result=created\n", api,
	       ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "hold") == 0)
		for (;;)
			pause();
	return 0;
}
