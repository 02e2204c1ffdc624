/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbh_attack: a deliberately hostile host-kernel module for the containment suite
 * (docs/containment.md). Each command performs one attack on one physical frame and
 * reports exactly what the CPU did, as key=value text read back from debugfs.
 */
#ifndef VBH_ATTACK_H
#define VBH_ATTACK_H

#include <linux/types.h>
#include <vbh/abi.h>

#define ATK_MAX_ARGS 8

/* Append key=value text to the reply of the current command. */
__printf(1, 2) void out(const char *fmt, ...);

/* A command handler: args are parsed numbers; returns 0 or -EINVAL (bad usage). */
typedef int (*cmd_fn)(int argc, const u64 *argv);

struct atk_cmd {
	const char *name;
	int argc; /* exact number of numeric arguments */
	cmd_fn fn;
	const char *usage;
};

/* Per-file command tables, ended by an entry with name == NULL. */
extern const struct atk_cmd frame_cmds[], map_cmds[], hc_cmds[], race_cmds[], svm_cmds[];
extern const struct atk_cmd dma_cmds[]; /* dma.c */
extern const struct atk_cmd port_cmds[]; /* ports.c */
extern const struct atk_cmd msr_cmds[]; /* msr.c */
extern const struct atk_cmd nest_cmds[]; /* nested.c */
extern const struct atk_cmd prot_cmds[]; /* protected.c */
extern const struct atk_cmd prot_nest_cmds[]; /* protected_nest.c */
extern const struct atk_cmd msi_cmds[]; /* msi.c */

/* toctou.c */
int cmd_toctou(int argc, const u64 *a);
int cmd_toctou_sim(int argc, const u64 *a);

/* frames.c */
u64 fnv1a64(u64 h, const void *p, size_t n);
#define FNV1A64_INIT 0xcbf29ce484222325ull
/* Read a frame word by word through va; returns PROBE_OK or the first trap. */
int read_frame(const void *va, u8 *buf);
void out_read(int trap, const u8 *buf);
/* Write a marker through va, read it back through va, report landed or not. */
void write_marker(void *va);
u64 pattern_word(u64 seed, unsigned int i);

/* hcall.c */
struct hc_ret hc(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3);
int hcall_init(void);
u64 exits_now(unsigned int kind); /* ~0 when no hypervisor answers */
/* True, with result=refused printed, on bare metal: instructions that would damage
 * real hardware (INVD drops dirty lines, SKINIT reinitialises the CPU) run only when
 * CPUID says a hypervisor (QEMU, vbh) is underneath. */
bool refuse_on_bare_metal(void);
void *reply(void); /* the page LOG_READ/STATS_READ/LOG_SUMMARY write into */
void out_exits(unsigned int kind, u64 before); /* "exits=N " or "exits=none " */

/* svm.c: set EFER.SVME (needed for the SVM instructions on a bare kernel). */
bool svm_on(u64 *old_efer);
void svm_restore(u64 old_efer);
enum { SVM_HSAVE, SVM_VMCB, SVM_SCRATCH, SVM_STACK, SVM_PAGES };
void *svm_page(int i); /* one zeroed page per use, allocated on first use */
int vmrun_attack(int argc, const u64 *a); /* vmrun.c */
int vmload_attack(int argc, const u64 *a); /* vmload.c */
int vmload_byhand(int argc, const u64 *a);
int vmsave_attack(int argc, const u64 *a);
int vmsave_roundtrip(int argc, const u64 *a); /* vmload.c: the host's own use */

#endif
