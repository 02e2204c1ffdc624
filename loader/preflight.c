// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Pre-flight: before anything is allocated or changed, every online CPU must have
 * SVM and nested paging, SVM must not be disabled by firmware, and nobody (KVM,
 * another hypervisor) may already have SVM enabled. Runs with cpus_read_lock held.
 */
#include <linux/smp.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "loader.h"

/* AMD APM vol. 3, CPUID Fn8000_0001 ECX[2] SVM; Fn8000_000A EDX[0] NP. */
#define VBH_CPUID_EXT_FEATURES 0x80000001u
#define VBH_CPUID_SVM_FEATURES 0x8000000au
#define VBH_ECX_SVM BIT(2)
#define VBH_EDX_NPT BIT(0)
/* AMD APM vol. 2 §15.30.1: VM_CR MSR C001_0114h, bit 4 SVMDIS. */
#define VBH_MSR_VM_CR 0xc0010114u
#define VBH_VM_CR_SVMDIS BIT_ULL(4)

struct vbh_cpu_caps {
	bool under_vbh, svm, npt, vm_cr_read, svmdis, svme;
};

static void vbh_read_caps(void *arg)
{
	struct vbh_cpu_caps *c = arg;
	u32 max_ext = cpuid_eax(0x80000000u);
	u64 vm_cr, efer;

	/* A vbh left running by a forced unload answers (its VM_CR and EFER are the
	 * host view of SVM: docs/svm-host.md). */
	c->under_vbh = vbh_cpu_is_guest(NULL);
	if (max_ext >= VBH_CPUID_EXT_FEATURES)
		c->svm = cpuid_ecx(VBH_CPUID_EXT_FEATURES) & VBH_ECX_SVM;
	if (c->svm && max_ext >= VBH_CPUID_SVM_FEATURES)
		c->npt = cpuid_edx(VBH_CPUID_SVM_FEATURES) & VBH_EDX_NPT;
	/* VM_CR exists only on SVM-capable CPUs; an emulator may still not have it. */
	if (c->svm && !rdmsrl_safe(VBH_MSR_VM_CR, &vm_cr)) {
		c->vm_cr_read = true;
		c->svmdis = vm_cr & VBH_VM_CR_SVMDIS;
	}
	rdmsrl(MSR_EFER, efer);
	c->svme = efer & EFER_SVME;
}

static int vbh_check_cpu(unsigned int cpu)
{
	struct vbh_cpu_caps c = {};
	int err = smp_call_function_single(cpu, vbh_read_caps, &c, 1);

	if (err) {
		pr_err(VBH_PFX "CPU %u: cannot run the pre-flight check (%d)\n", cpu, err);
		return err;
	}
	if (c.under_vbh) {
		pr_err(VBH_PFX "CPU %u already runs under a vbh hypervisor\n", cpu);
		return -EEXIST;
	}
	if (!c.svm) {
		pr_err(VBH_PFX "CPU %u has no SVM (CPUID 0x80000001 ECX[2] clear)\n", cpu);
		return -ENODEV;
	}
	if (!c.npt) {
		pr_err(VBH_PFX "CPU %u has no NPT (CPUID 0x8000000A EDX[0] clear)\n", cpu);
		return -ENODEV;
	}
	if (c.svme) {
		pr_err(VBH_PFX "CPU %u: EFER.SVME already set, another hypervisor (kvm_amd?) owns SVM\n",
		       cpu);
		return -EBUSY;
	}
	if (c.svmdis) {
		pr_err(VBH_PFX "CPU %u: SVM disabled by firmware (VM_CR.SVMDIS)\n", cpu);
		return -ENODEV;
	}
	if (!c.vm_cr_read)
		pr_info(VBH_PFX "CPU %u: VM_CR not readable, assuming SVM is not disabled\n", cpu);
	return 0;
}

int vbh_preflight(void)
{
	unsigned int cpu;
	int err;

	for_each_online_cpu(cpu) {
		if (cpu >= VBH_MAX_CPUS) {
			pr_err(VBH_PFX "CPU %u is beyond the hypervisor's limit of %u CPUs\n",
			       cpu, VBH_MAX_CPUS);
			return -ERANGE;
		}
		err = vbh_check_cpu(cpu);
		if (err)
			return err;
	}
	if (nr_cpu_ids > VBH_MAX_CPUS)
		pr_warn(VBH_PFX "%u possible CPUs, only 0..%u can ever be launched\n",
			nr_cpu_ids, VBH_MAX_CPUS - 1);
	err = vbh_dmar_read();
	return err ? err : vbh_ivrs_read();
}
