"""The report's protected-guest section (issue 13): a protected guest's first touch of a
private page and its workload, against an ordinary guest of the same VMM, same boot.

Read from the serial log of tests/protected-bench/run.sh (scenario protected_bench),
which runs vbh-vmm's touch benchmark (docs/vmm.md) R rounds in an ordinary and in a
protected VM, bare and on vbh: VBH-METRIC vmm_touch_<bare|vbh>_<ordinary|protected>_<r>_
touch_<first|again|read>_ns_per_page and _touch_cpu_ns, and on vbh the hypervisor's
counters during each run (win.<label>.<run|exit>.<key>). That boot needs the rebuilt
kvm.ko, so it is not part of CI: without its log the section says so.
"""
import os
import re
import statistics
import time

import vbhlog
from layout import NA, num, table

MODES = ("bare", "vbh")
VMS = ("ordinary", "protected")
FIGURES = [  # (metric suffix, what it is, divisor to µs)
    ("touch_first_ns_per_page", "first touch of a 4 KiB page (fault-in), per page", 1e3),
    ("touch_again_ns_per_page", "the same write again, page mapped, per page", 1e3),
    ("touch_read_ns_per_page", "sum of every qword of a mapped page, per page", 1e3),
    ("touch_cpu_ns", "1,000,000 xorshift64 steps in registers (control)", 1e3),
]


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio(a, b):
    return a / b if a is not None and b else None


def figure(run, mode, vm, suffix):
    """Median over the rounds of one figure, and how many rounds had it."""
    rx = rf"vmm_touch_{mode}_{vm}_(\d+)_{suffix}"
    vals = [v for _m, v in run.matching(rx)]
    return _median(vals), len(vals)


def window(run, vm, phase, key):
    """Median over the rounds on vbh of one counter during PHASE (run | exit)."""
    return _median([v for _m, v in run.matching(rf"win\.touch_vbh_{vm}_\d+\.{phase}\.{re.escape(key)}")])


def donate_rows(run, pages):
    """What vbh itself did per private page during the touch runs (medians of rounds)."""
    rows = []
    hc = {vm: window(run, vm, "run", "hc") for vm in VMS}
    cyc = {vm: window(run, vm, "run", "hc_cycles") for vm in VMS}
    extra = hc["protected"] - hc["ordinary"] if None not in hc.values() else None
    extra_cyc = cyc["protected"] - cyc["ordinary"] if None not in cyc.values() else None
    rows.append(["hypercall exits more than the ordinary run, per page",
                 num(_ratio(extra, pages), "{:.2f}"), "GUEST_DONATE: one per 4 KiB folio"])
    rows.append(["vbh's cycles in those hypercalls, each",
                 num(_ratio(extra_cyc, extra), "{:.0f}"),
                 "#VMEXIT to VMRUN (exit_cycles): the donate with its NPT and IOMMU edits, flush"])
    for vm in VMS:
        rows.append([f"shadow NPT fills per page, {vm}",
                     num(_ratio(window(run, vm, "run", "fills"), pages), "{:.2f}"),
                     "l2_shadow_fills"])
        rows.append([f"shadow NPT drops per page, {vm}",
                     num(_ratio(window(run, vm, "run", "drops"), pages), "{:.2f}"),
                     "l2_shadow_drops: a whole shadow dropped (KVM flushed its guest's TLB)"])
        rows.append([f"L2 exits reflected to KVM per page, {vm}",
                     num(_ratio(window(run, vm, "run", "l2_reflected"), pages), "{:.2f}"),
                     "l2_reflected"])
    ex_hc, ex_cyc = window(run, "protected", "exit", "hc"), window(run, "protected", "exit", "hc_cycles")
    rows.append(["hypercalls at the protected VM's teardown",
                 num(ex_hc, "{:.0f}"), "GUEST_RECLAIM (scrub) runs, DOMAIN_DESTROY"])
    rows.append(["vbh's cycles per teardown hypercall",
                 num(_ratio(ex_cyc, ex_hc), "{:.0f}"), "exit_cycles"])
    return rows


def section(path):
    """Markdown for the section; says so when the protected bench was not run."""
    if not path:
        return ("Not measured in this run: the figures need the kvm.ko of loader/kvm/build.sh, "
                "which CI does not build. `tests/protected-bench/run.sh` boots them "
                "(docs/benchmarks.md, \"Protected guests\"); `tools/report/run.sh` then finds "
                "out/protected-bench/last.log.\n")
    try:
        with open(path, errors="replace") as f:
            run = vbhlog.parse(f.read())
    except OSError as e:
        return f"Not measured in this run: cannot read {path}: {e.strerror}.\n"
    pages, reps = run.value("touch_pages"), run.value("touch_reps")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(path)))
    rows, first = [], {}
    for suffix, what, div in FIGURES:
        med = {(m, vm): figure(run, m, vm, suffix)[0] for m in MODES for vm in VMS}
        if suffix == "touch_first_ns_per_page":
            first = med
        cell = {k: (v / div if v is not None else None) for k, v in med.items()}
        rows.append([suffix.split("_")[1], what,
                     num(cell["bare", "ordinary"], "{:.2f}"), num(cell["bare", "protected"], "{:.2f}"),
                     num(_ratio(med["bare", "protected"], med["bare", "ordinary"]), "{:.2f}"),
                     num(cell["vbh", "ordinary"], "{:.2f}"), num(cell["vbh", "protected"], "{:.2f}"),
                     num(_ratio(med["vbh", "protected"], med["vbh", "ordinary"]), "{:.2f}")])
    extra = (first["vbh", "protected"] - first["vbh", "ordinary"]
             if first.get(("vbh", "protected")) is not None and first.get(("vbh", "ordinary")) is not None
             else None)
    failed = [n for n, ok, _d in run.checks if not ok]
    ratio = _ratio(first.get(("vbh", "protected")), first.get(("vbh", "ordinary")))
    cost = (f"{extra / 1e3:.1f} µs per page above an ordinary guest's first touch ({ratio:.2f}x)"
            if extra is not None else "n/a (a first-touch figure is missing)")
    head = (f"vbh-vmm's touch benchmark (`{path.rsplit('/', 1)[-1]}`, written {when}): "
            f"{num(pages, '{:.0f}')} "
            f"pages of 4 KiB, medians of {num(reps, '{:.0f}')} rounds of an ordinary and a "
            "protected VM (same VMM, same memory size), bare and on vbh, one boot; kvm_amd "
            "npt=1. On vbh a protected VM is a vbh domain: its first touch of a private page "
            "is KVM's fault, guest_memfd's prepare, GUEST_DONATE and vbh's shadow NPT fill. "
            f"**Private-fault cost on vbh: {cost}.** Checks failed in that boot: {', '.join(failed) if failed else 'none'}.\n\n")
    t1 = table(["pass", "what", "bare ordinary (µs)", "bare protected (µs)", "bare ratio (x)",
                "vbh ordinary (µs)", "vbh protected (µs)", "vbh ratio (x)"], rows)
    t2 = table(["on vbh, during the touch runs", "value (count)", "what"],
               donate_rows(run, pages) if pages else [])
    return head + t1 + "\n" + t2
