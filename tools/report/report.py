#!/usr/bin/python3
"""vbh benchmark report: serial log of a bench boot -> report.md + report.png.

    report.py LOG [--out DIR] [--footprint-log FILE]...
                                          write DIR/report.md and DIR/report.png; each
                                          FILE (a footprint boot at another RAM size)
                                          adds a row to the footprint table
        [--protected LOG] [--donate-log LOG]  the protected-guest section (a log of
                                          tests/protected-bench/run.sh) and the donate +
                                          scrub baseline without an IOMMU (donate_rate)
    report.py --check DIR [--require-depriv]
                                          validate a produced report (for CI)

LOG is a serial log of `qemu-nested/boot.sh --scenario bench` (out/qemu/logs/*.log).
Numbers are reported as measured; nothing is pass/fail on time (docs/benchmarks.md).
"""
import argparse
import os
import sys

import check
import vbhlog
import nested
import donate
import protected
from layout import NA, SECTIONS, num, table
WHAT = {
    "calib": "CONTROL: 4096-step ALU loop vbh cannot slow (host drift)",
    "exec": "fork + execve + wait of a static binary",
    "syscall": "getppid system call",
    "switch": "pipe round trip, both threads on CPU 0",
    "pingpong": "pipe round trip CPU 0 <-> CPU 1 (2 wake-ups)",
    "memrand": "4 KiB read at a random page of 128 MiB",
    "memseq": "4 KiB read, next page of 128 MiB",
    "fault": "anonymous page fault (mmap/touch/munmap)",
}
GB_WHAT = {  # Google Benchmark round trips (tests/guest-bench/roundtrip.cpp)
    "user_nop": "empty iteration (baseline of user_*)",
    "user_cpuid": "CPUID leaf 0 from ring 3",
    "user_vmmcall": "null hypercall from ring 3 (vbh: VBH_E_DENIED)",
    "kernel_nop": "benchmod ioctl alone (baseline of kernel_*)",
    "kernel_cpuid": "ioctl: CPUID leaf 0",
    "kernel_vmmcall": "ioctl: VMMCALL VBH_HC_VERSION",
    "kernel_rdmsr": "ioctl: RDMSR VM_CR (intercepted)",
    "kernel_wrmsr_efer": "ioctl: WRMSR EFER, same value (intercepted)",
}
CAVEATS = """\
- QEMU TCG, not hardware: every VMRUN/#VMEXIT flushes TCG's whole software TLB, so an exit
  round trip costs microseconds here (vs ~0.5 us on hardware) and NPT walks are emulated.
  Ratios show where vbh adds work; absolute numbers do not transfer to real CPUs.
- Bare and deprivileged halves run in the same boot, one after the other. The host may
  preempt a vCPU thread at any time (other QEMUs, compilers on a 2-core host): medians of
  ~1 ms batches resist that, whole-run times do not (see the spread columns). Treat a
  ratio within a few percent of 1.0 as no measured difference.
- pingpong mostly measures how fast the host schedules the woken vCPU thread under TCG.
- Round-trip cycles are TSC cycles between two `lfence; rdtsc` and include that pair;
  the `nop` loop is that pair alone, and "above nop" subtracts its median.
- Google Benchmark round trips are wall-clock ns per call from user space, so a
  kernel_* call also pays the system call and, after an exit, the refill of the TLB that
  TCG flushed: expect them above the in-kernel loops' medians.
- Reading /sys/kernel/vbh/stats is itself one hypercall per CPU: the idle exit rate
  includes the sampling's own few exits.
"""


def run_section(run, log, host_load=None):
    failed = [c for c in run.checks if not c[1]]
    lines = [f"- log: `{log}`"]
    if host_load:
        lines.append(f"- host load average (1, 5, 15 min): {host_load}")
    lines += [f"- checks: {len(run.checks) - len(failed)} passed, "
             f"{len(failed)} failed; scenario {'finished' if run.done else 'did NOT finish'}"]
    lines += [f"- {i}" for i in run.info if i.startswith(("kernel", "bench:", "initramfs",
                                                          "vbh status"))]
    lines += [f"- **kernel crash in the log**: `{c[:150]}`" for c in run.crashes[:3]]
    return "\n".join(lines) + "\n"


def _ratio(d, key):
    b, p = d.get("bare" + key), d.get("depriv" + key)
    return p / b if b and p else None


def _spread(d, mode):
    lo, hi = d.get(mode + "_fastest"), d.get(mode + "_max")
    return hi / lo * 100 - 100 if lo and hi else None


def workload_section(run):
    rows = [[w, WHAT.get(w, ""), num(d.get("bare")), num(d.get("depriv")),
             num(_ratio(d, ""), "{:.3f}"), num(_ratio(d, "_p10"), "{:.3f}"),
             num(_ratio(d, "_fastest"), "{:.3f}"),
             num(_spread(d, "bare")), num(_spread(d, "depriv"))]
            for w, d in sorted(vbhlog.workloads(run).items(), key=lambda kv: kv[0] != "calib")]
    return ("Time per iteration (Google Benchmark): each run is many short repetitions of "
            "one batch; bare and deprivileged columns are the median over the runs of each "
            "run's median repetition. ratio = deprivileged / bare of those; p10 ratio = the "
            "same for the lowest 10th-percentile repetition (least disturbed by the host); "
            "fastest-run ratio compares the lowest run means; spread = highest over lowest "
            "run mean. calib is a control that nested paging cannot affect: its ratio is the "
            "host's drift between the halves. Ratios that agree with each other and differ "
            "from calib's are the ones to trust."
            "\n\n"
            + table(["workload", "one iteration", "bare (ns)", "deprivileged (ns)",
                     "ratio (x)", "p10 ratio (x)", "fastest-run ratio (x)", "bare spread (%)",
                     "depriv spread (%)"], rows))


def exits_section(run):
    rates = vbhlog.exit_rates(run)
    if not rates:
        return "No exit counters in the log (vbh not loaded, or no /sys/kernel/vbh/stats).\n"
    cpus = sorted({c for r in rates.values() for c in r})
    order = ["idle"] + sorted(p for p in rates if p != "idle")
    rows = [[p] + [num(rates[p].get(c)) for c in cpus] + [num(sum(rates[p].values()))]
            for p in order if p in rates]
    text = ("VM exits per second while idle and while each workload ran (deprivileged; "
            "a workload phase covers all its runs).\n\n"
            + table(["phase"] + [f"cpu{c} (exit/s)" for c in cpus] + ["all (exit/s)"], rows))
    kinds = vbhlog.exit_kinds(run)
    seen = {k for d in kinds.values() for k in d}
    abi = vbhlog.exit_kind_names()  # columns in the ABI's order, unknown kinds last
    names = [k for k in abi if k in seen] + sorted(seen - set(abi))
    if names:
        rows = [[p] + [str(kinds[p].get(k, 0)) for k in names] for p in order if p in kinds]
        text += ("\nExits by reason during each phase, all CPUs (reasons with no exit in any "
                 "phase are left out).\n\n" + table(["phase"] + [f"{k} (exits)" for k in names],
                                                     rows))
    return text


def roundtrip_section(run):
    rt = vbhlog.roundtrips(run)
    rows = []
    for (loop, mode, cpu), d in sorted(rt.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        base = rt.get(("nop", mode, cpu), {}).get("p50")
        above = d.get("p50") - base if loop != "nop" and base is not None \
            and d.get("p50") is not None else None
        rows.append([loop, mode, f"cpu{cpu}", num(d.get("p50"), "{:.0f}"), num(above, "{:.0f}"),
                     num(vbhlog.cycles_to_ns(run, above)), num(d.get("p99"), "{:.0f}"),
                     num(d.get("min"), "{:.0f}"), num(d.get("ns"))])
    if not rows:
        return "No round-trip measurements in the log (benchmod not loaded?).\n"
    khz = run.value("tsc_khz")
    return ("In-kernel loops of benchmod (tests/guest-modules/benchmod), per iteration. The "
            "median is the cost to read; the mean also carries interrupts and host "
            f"preemption. TSC: {num(khz and khz / 1e6, '{:.3f}')} GHz.\n\n"
            + table(["loop", "mode", "cpu", "median (cycles)", "median above nop (cycles)",
                     "median above nop (ns)", "p99 (cycles)", "fastest (cycles)",
                     "mean (ns)"], rows))


def _gb_above(gb, op, mode):
    base = "user_nop" if op.startswith("user_") else "kernel_nop"
    v, b = gb.get((op, mode), {}).get("median"), gb.get((base, mode), {}).get("median")
    return v - b if op != base and v is not None and b is not None else None


def gbench_section(run):
    gb = vbhlog.gbench(run)
    if not gb:
        return "No Google Benchmark round trips in the log.\n"
    order = [o for o in GB_WHAT if any(k[0] == o for k in gb)]
    order += sorted({k[0] for k in gb} - set(order))
    rows = []
    for op in order:
        b, d = gb.get((op, "bare"), {}), gb.get((op, "depriv"), {})
        rows.append([op, GB_WHAT.get(op, ""), num(b.get("median")), num(d.get("median")),
                     num(b.get("p10")), num(d.get("p10")), num(_gb_above(gb, op, "bare")),
                     num(_gb_above(gb, op, "depriv"))])
    return ("vbh-bench's round trips (Google Benchmark, tests/guest-bench/roundtrip.cpp), "
            "pinned to CPU 0: wall-clock ns per call, median and 10th percentile over the "
            "repetitions. \"above nop\" subtracts the median of user_nop (user_* rows) or "
            "kernel_nop (kernel_* rows). n/a bare for the VMMCALLs: without a hypervisor "
            "VMMCALL raises #UD, so they are skipped.\n\n"
            + table(["op", "one call", "bare median (ns)", "deprivileged median (ns)",
                     "bare p10 (ns)", "deprivileged p10 (ns)", "bare above nop (ns)",
                     "deprivileged above nop (ns)"], rows))


# tests/exitcost/run.sh's kinds by the exit kind they stand for (docs/exit-cost.md: its
# cpuid row is the unknown-exit path, ExitReason::other).
EXITCOST_KIND = {"hypercall": "hypercall", "msr_write": "msr_write", "npf": "npf",
                 "other": "cpuid"}


def read_exitcost(path):
    """{kind: instructions per exit} from tests/exitcost/run.sh's VBH-METRIC lines."""
    out = {}
    if not path:
        return out
    with open(path, errors="replace") as f:
        for line in f:
            w = line.split()
            if len(w) >= 3 and w[0] == "VBH-METRIC" and w[1].startswith("exitcost_"):
                out[w[1][len("exitcost_"):]] = float(w[2])
    return out


def hypcyc_section(run, exitcost=None):
    exitcost = exitcost or {}
    hc = vbhlog.hyp_cycles(run)
    if not hc:
        return ("n/a: no hypervisor exit-cycle figures in this log (this vbh has no "
                "/sys/kernel/vbh/exit_cycles, or vbh did not run).\n")
    rows = []
    for kind, d in sorted(hc.items(), key=lambda kv: -kv[1]["count"]):
        mb = vbhlog.median_bucket(d["hist"])
        rows.append([kind, f"{d['count']:.0f}", num(d["mean"], "{:.0f}"),
                     num(vbhlog.cycles_to_ns(run, d["mean"])),
                     "n/a" if mb is None else f"[2^{mb}, 2^{mb + 1})",
                     num(None if mb is None else 2 ** mb, "{:.0f}"),
                     num(d["max"], "{:.0f}"), num(vbhlog.cycles_to_ns(run, d["max"])),
                     num(exitcost.get(EXITCOST_KIND.get(kind, "")), "{:.0f}")])
    return ("TSC cycles vbh itself spent per exit, from #VMEXIT to the next VMRUN "
            "(/sys/kernel/vbh/exit_cycles, whole boot, all CPUs), by exit kind. The median "
            "bucket is the log2 bucket that holds the median exit. The last column is the "
            "hypervisor's instructions on that path, counted on the build machine "
            "(tests/exitcost/run.sh, callgrind; docs/exit-cost.md): next to the cycles it "
            "tells how much of an exit is vbh's own code and how much the world switch "
            "and its TLB/cache effects (n/a: no count for that kind, or run.sh was not "
            "given one).\n\n"
            + table(["kind", "exits (count)", "mean (cycles)", "mean (ns)", "median bucket",
                     "median bucket from (cycles)", "max (cycles)", "max (ns)",
                     "vbh instructions per exit"], rows))


def footprint_runs(run, footprint_logs=()):
    """The bench boot's run and each footprint boot's (other RAM sizes), by RAM size."""
    runs = [run]
    for path in footprint_logs or ():
        with open(path, errors="replace") as f:
            runs.append(vbhlog.parse(f.read()))
    return sorted((r for r in runs if r.value("footprint.ram")), key=lambda r: r.value("footprint.ram"))


def footprint_section(run, footprint_logs=()):
    v = run.value
    hyp, ram = v("footprint.hyp"), v("footprint.ram")
    rows = [["insmod vbh.ko (launch on every CPU)", num(v("launch.insmod"), "{:.3f}"), "ms"]]
    rows += [[f"loader-reported {m.group(1)}", num(val, "{:.3f}"), run.metrics[m.group(0)][1]]
             for m, val in run.matching(r"launch\.(?!insmod$)([\w.]+)")]
    rows += [["hypervisor memory (sum of hyp_ranges)", num(hyp, "{:.0f}"), "B"],
             ["hypervisor memory", num(hyp / 2**20 if hyp else None, "{:.2f}"), "MiB"],
             ["guest RAM (System RAM in /proc/iomem)", num(ram, "{:.0f}"), "B"],
             ["hypervisor share of RAM", num(hyp / ram * 100 if hyp and ram else None,
                                             "{:.3f}"), "%"]]
    out = table(["what", "value (number)", "unit"], rows)
    runs = footprint_runs(run, footprint_logs)
    sizes, parts = [], []
    for r in runs:
        h, m, t = r.value("footprint.hyp"), r.value("footprint.ram"), r.value("footprint.target")
        verdict = NA if h is None or t is None else ("yes" if h <= t else "NO")
        sizes.append([f"{m / 2**20:.0f} MiB", num(h / 2**20 if h else None, "{:.2f}"),
                      num(h / m * 100 if h else None, "{:.3f}"),
                      num(t / 2**20 if t else None, "{:.2f}"), verdict])
        for mt, _ in r.matching(r"footprint\.part\.(\w+)"):
            if mt.group(1) not in parts:
                parts.append(mt.group(1))
    out += ("\nHypervisor memory at each guest RAM size booted (the bench boot and the "
            "footprint scenario's boots), against issue 15's target of 8 MiB + 0.2 % of "
            "RAM:\n\n" + table(["guest RAM", "hypervisor (MiB)", "share of RAM (%)",
                                 "target (MiB)", "within target"], sizes))
    if parts:
        prow = [[p] + [num((r.value(f"footprint.part.{p}") or 0) / 1024 if r.value(
                    f"footprint.part.{p}") is not None else None, "{:.0f}") for r in runs]
                for p in parts]
        out += ("\nBy part (/sys/kernel/vbh/footprint, boot.h VBH_FOOTPRINT_PARTS), KiB:\n\n"
                + table(["part"] + [f"{r.value('footprint.ram') / 2**20:.0f} MiB RAM (KiB)"
                                    for r in runs], prow))
    return out


def checks_section(run):
    rows = [[n, "pass" if ok else "FAIL", d.replace("|", "/")[:160]] for n, ok, d in run.checks
            if n.startswith(("bench", "rt_", "gb_", "kernel_log", "donate"))]
    return ("A check only says whether a benchmark produced a number.\n\n"
            + table(["check", "result", "detail"], rows))


def write_report(log, outdir, host_load=None, exitcost=None, nested_log=None,
                 footprint_logs=(), protected_log=None, donate_log=None):
    with open(log, errors="replace") as f:
        run = vbhlog.parse(f.read())
    if not vbhlog.workloads(run):
        sys.exit(f"report: no bench workload metrics in {log} (was it a bench boot?)")
    os.makedirs(outdir, exist_ok=True)
    parts = ["# vbh benchmark report\n", "![workload ratios and round-trip costs](report.png)\n"]
    for title, body in zip(SECTIONS, [run_section(run, log, host_load), workload_section(run),
                                      exits_section(run), roundtrip_section(run),
                                      gbench_section(run), hypcyc_section(run, read_exitcost(exitcost)),
                                      footprint_section(run, footprint_logs),
                                      nested.section(nested_log),
                                      protected.section(protected_log),
                                      donate.section(run, donate_log),
                                      checks_section(run), CAVEATS]):
        parts += [title + "\n", body]
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(parts))
    import plot  # matplotlib is only needed to write, not to check
    plot.write_png(run, os.path.join(outdir, "report.png"))
    print(f"report: {outdir}/report.md, {outdir}/report.png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", nargs="?", help="serial log of a bench boot")
    ap.add_argument("--out", default="out/report", help="output directory")
    ap.add_argument("--check", metavar="DIR", help="validate DIR/report.md and report.png")
    ap.add_argument("--host-load", help="host load average during the boot (run.sh)")
    ap.add_argument("--exitcost", metavar="FILE",
                    help="output of tests/exitcost/run.sh: instructions per exit")
    ap.add_argument("--nested", metavar="LOG",
                    help="serial log of the svm-e2e boot: KVM's guests bare and on vbh")
    ap.add_argument("--footprint-log", metavar="FILE", action="append", default=[],
                    help="serial log of a footprint boot at another RAM size (repeatable)")
    ap.add_argument("--protected", metavar="LOG",
                    help="serial log of tests/protected-bench/run.sh: protected vs ordinary guests")
    ap.add_argument("--donate-log", metavar="LOG",
                    help="serial log of the donate_rate boot: donate + scrub without an IOMMU")
    ap.add_argument("--require-depriv", action="store_true",
                    help="with --check: deprivileged numbers must be present too")
    a = ap.parse_args()
    if a.check:
        problems = check.check_report(a.check, a.require_depriv)
        for p in problems:
            print(f"report --check: {p}", file=sys.stderr)
        print(f"report --check: {a.check}: {'ok' if not problems else 'INVALID'}")
        sys.exit(1 if problems else 0)
    if not a.log:
        ap.error("LOG or --check DIR is required")
    write_report(a.log, a.out, a.host_load, a.exitcost, a.nested, a.footprint_log, a.protected,
                 a.donate_log)


if __name__ == "__main__":
    main()
