// SPDX-License-Identifier: MIT
// Round trips timed by Google Benchmark, pinned to CPU 0 (docs/benchmarks.md):
//   user_nop        an empty iteration: the baseline of the user_* rows
//   user_cpuid      CPUID leaf 0 from ring 3 (vbh does not intercept CPUID)
//   user_vmmcall    the null hypercall from ring 3: vbh intercepts every VMMCALL and
//                   answers a caller outside ring 0 with VBH_E_DENIED (docs/hypercalls.md);
//                   without a hypervisor VMMCALL raises #UD (AMD APM vol. 3, VMMCALL),
//                   which a SIGILL probe detects: then the benchmark is skipped with an error
//   kernel_OP       one benchmod ioctl running OP once in the kernel (benchmod_uapi.h);
//                   kernel_nop is the ioctl alone, the baseline of the kernel_* rows
// The report subtracts each baseline's median ("above nop"). Unlike benchmod's in-kernel
// rdtsc loops, these include everything a caller pays: the loop, and for kernel_* the
// system call.
#include <benchmark/benchmark.h>

#include <cerrno>
#include <csetjmp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <string>

#include <vbh/abi.h>

#include "../guest-modules/benchmod/benchmod_uapi.h"
#include "bench.hpp"

namespace vbh_bench {
namespace {

// Pins the process at its first round trip, not before: the workloads pin their own.
void pin_cpu0()
{
	static const bool once = [] {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			std::perror("vbh-bench: pin to CPU 0");
		return true;
	}();
	(void)once;
}

// vbh ABI (abi.h): rax = call, out rax = status; rdi, rsi, rdx, rcx carry arguments.
std::uint64_t vmmcall(std::uint64_t call)
{
	std::uint64_t rax = call, rdi = 0, rsi = 0, rdx = 0, rcx = 0;

	asm volatile("vmmcall" : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+c"(rcx) : : "memory");
	return rax;
}

sigjmp_buf probe_env;

void on_sigill(int)
{
	siglongjmp(probe_env, 1);
}

// Empty when a ring-3 VMMCALL is answered with VBH_E_DENIED, else why it cannot be timed.
std::string probe_ring3_vmmcall()
{
	struct sigaction sa = {}, old = {};
	volatile std::uint64_t status = ~0ull;
	volatile bool ud = false;

	sa.sa_handler = on_sigill;
	sigaction(SIGILL, &sa, &old);
	if (sigsetjmp(probe_env, 1) == 0)
		status = vmmcall(VBH_HC_VERSION);
	else
		ud = true;
	sigaction(SIGILL, &old, nullptr);
	if (ud)
		return "bare: VMMCALL from ring 3 raised #UD (SIGILL), no hypervisor answers it";
	if (status != VBH_E_DENIED)
		return "ring-3 VMMCALL returned status " + std::to_string(status) +
		       ", expected VBH_E_DENIED (" + std::to_string(VBH_E_DENIED) + ")";
	return {};
}

void user_nop(benchmark::State& st)
{
	pin_cpu0();
	for (auto _ : st)
		benchmark::ClobberMemory();
}

void user_cpuid(benchmark::State& st)
{
	pin_cpu0();
	for (auto _ : st) {
		std::uint32_t a = 0, b, c = 0, d;

		asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
	}
}

void user_vmmcall(benchmark::State& st)
{
	static const std::string why = probe_ring3_vmmcall();

	pin_cpu0();
	if (!why.empty()) {
		st.SkipWithError(why.c_str());
		return;
	}
	for (auto _ : st)
		if (vmmcall(VBH_HC_VERSION) != VBH_E_DENIED) {
			st.SkipWithError("ring-3 VMMCALL stopped returning VBH_E_DENIED");
			break;
		}
}

void kernel_op(benchmark::State& st, unsigned op)
{
	static const int fd = open("/dev/benchmod", O_RDONLY | O_CLOEXEC);
	static std::string err;

	pin_cpu0();
	if (fd < 0) {
		err = std::string("open /dev/benchmod: ") + std::strerror(errno) +
		      " (is benchmod.ko loaded?)";
		st.SkipWithError(err.c_str());
		return;
	}
	for (auto _ : st)
		if (ioctl(fd, BENCHMOD_IOC_ONE, op)) {
			err = std::string("benchmod ioctl: ") + std::strerror(errno) +
			      (errno == EIO ? " (the instruction faulted: #UD or #GP, e.g. VMMCALL "
					      "without a hypervisor)" : "");
			st.SkipWithError(err.c_str());
			break;
		}
}

} // namespace

void register_roundtrips(std::int64_t batch, std::int64_t reps)
{
	static const struct {
		const char* name;
		unsigned op;
	} kernel[] = {
		{ "kernel_nop", BENCHMOD_OP_NOP },
		{ "kernel_cpuid", BENCHMOD_OP_CPUID },
		{ "kernel_vmmcall", BENCHMOD_OP_VMMCALL },
		{ "kernel_rdmsr", BENCHMOD_OP_RDMSR },
		{ "kernel_wrmsr_efer", BENCHMOD_OP_WRMSR_EFER },
	};
	auto common = [&](benchmark::internal::Benchmark* b) {
		b->Iterations(batch)
			->Repetitions(int(reps))
			->Unit(benchmark::kNanosecond);
	};

	common(benchmark::RegisterBenchmark("user_nop", user_nop));
	common(benchmark::RegisterBenchmark("user_cpuid", user_cpuid));
	common(benchmark::RegisterBenchmark("user_vmmcall", user_vmmcall));
	for (const auto& k : kernel)
		common(benchmark::RegisterBenchmark(k.name, kernel_op, k.op));
}

} // namespace vbh_bench
