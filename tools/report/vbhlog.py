"""Parse a vbh serial log (out/qemu/logs/*.log) into the bench scenario's results.

The guest prints one record per line (qemu-nested/guest/lib.sh):
    VBH-CHECK <name> <pass|fail> <detail...>
    VBH-METRIC <name> <value> <unit>
    VBH-SAMPLES <name> <unit> <value>...   (several lines of one name add up)
    VBH-INFO <text...>
Kernel messages can share the serial console, so records are searched for anywhere in
a line, and a metric or sample whose value does not parse is ignored rather than
guessed. The statistics over the samples are stats.derive()'s.
"""
import os
import re
from dataclasses import dataclass, field

import stats

# The ABI headers: their X-macro tables (VBH_EXIT_KINDS, VBH_LOG_KINDS, VBH_STATUSES,
# VBH_CALLS) are the one list of names; the report reads them, it keeps no copy.
ABI_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "hypercalls", "include", "vbh")
_X_ENTRY = re.compile(r"^\s*X\((\w+),\s*(\w+)(?:,\s*(\w+))?\)")


def abi_table(macro, abi_dir=ABI_DIR):
    """[(NAME, value, name)] of one X-macro table of the ABI headers, in header order:
    the lines `X(NAME, value[, name])` of `#define MACRO(X) \\ ...` up to the first
    line without a continuation. name is None for a two-argument table (VBH_CALLS).
    Raises LookupError if no header defines MACRO."""
    start = re.compile(r"^#define\s+" + re.escape(macro) + r"\(X\)")
    for header in sorted(os.listdir(abi_dir)):
        if not header.endswith(".h"):
            continue
        with open(os.path.join(abi_dir, header)) as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines):
            if not start.match(line):
                continue
            out = []
            for body in lines[i + 1:]:
                m = _X_ENTRY.match(body)
                if m:
                    out.append((m.group(1), int(m.group(2), 0), m.group(3)))
                if not body.rstrip().endswith("\\"):
                    break
            return out
    raise LookupError(f"{macro}: no #define {macro}(X) in {abi_dir}")


def exit_kind_names(abi_dir=ABI_DIR):
    """Exit reasons as the loader prints them, in enum vbh_exit_kind order."""
    return [name for _n, _v, name in sorted(abi_table("VBH_EXIT_KINDS", abi_dir),
                                           key=lambda e: e[1])]


_RECORD = re.compile(r"VBH-(CHECK|METRIC|SAMPLES|INFO|DONE)\s+(.*)")


@dataclass
class Run:
    """Every record of one boot, keyed the way the bench scenario names them."""
    metrics: dict = field(default_factory=dict)  # name -> (value, unit)
    samples: dict = field(default_factory=dict)  # name -> (unit, [value, ...])
    checks: list = field(default_factory=list)   # (name, passed, detail)
    info: list = field(default_factory=list)
    done: bool = False
    crashes: list = field(default_factory=list)  # kernel oops/panic lines, in order

    def value(self, name):
        m = self.metrics.get(name)
        return m[0] if m else None

    def matching(self, pattern):
        """(match, value) for every metric whose whole name matches the regex."""
        rx = re.compile(pattern)
        for name, (val, _unit) in self.metrics.items():
            m = rx.fullmatch(name)
            if m:
                yield m, val


_CRASH = re.compile(r"BUG: |Oops|Kernel panic|general protection fault|soft lockup|hard LOCKUP")


def _floats(words):
    """The values of one samples line, or none at all if a word does not parse (a kernel
    message broke the line: its numbers could pass for samples)."""
    try:
        return [float(w) for w in words]
    except ValueError:
        return []


def parse(text):
    """Every record of the log, then the statistics derived from its raw samples."""
    run = Run()
    for line in text.splitlines():
        line = line.replace("\r", "")
        m = _RECORD.search(line)
        if not m:
            if _CRASH.search(line):
                run.crashes.append(line.strip())
            continue
        kind, rest = m.group(1), m.group(2).strip()
        if kind == "METRIC":
            parts = rest.split()
            if len(parts) >= 2:
                try:
                    run.metrics[parts[0]] = (float(parts[1]), " ".join(parts[2:3]))
                except ValueError:
                    pass
        elif kind == "SAMPLES":
            parts = rest.split()
            if len(parts) >= 2:
                run.samples.setdefault(parts[0], (parts[1], []))[1].extend(_floats(parts[2:]))
        elif kind == "CHECK":
            parts = rest.split(None, 2)
            if len(parts) >= 2 and parts[1] in ("pass", "fail"):
                run.checks.append((parts[0], parts[1] == "pass",
                                   parts[2] if len(parts) > 2 else ""))
        elif kind == "INFO":
            run.info.append(rest)
        else:
            run.done = True
    stats.derive(run.metrics, run.samples)
    return run


def workloads(run):
    """name -> {bare, bare_p10, bare_fastest, bare_max, depriv, ...}, ns per iteration."""
    out = {}
    for m, val in run.matching(r"wl\.(bare|depriv)\.(\w+)(?:\.(max|fastest|p10))?"):
        key = m.group(1) + ("_" + m.group(3) if m.group(3) else "")
        out.setdefault(m.group(2), {})[key] = val
    return out


def exit_rates(run):
    """phase -> {cpu: exits per second}; phase 'idle' or a workload name."""
    out = {}
    for m, val in run.matching(r"exits\.(\w+)\.cpu(\d+)"):
        out.setdefault(m.group(1), {})[int(m.group(2))] = val
    return out


def roundtrips(run):
    """(loop, mode, cpu) -> {ns, cycles, min, p50, p99}."""
    out = {}
    for m, val in run.matching(r"rt\.(bare|depriv)\.(\w+)\.cpu(\d+)(?:\.(cycles|min|p50|p99))?"):
        key = (m.group(2), m.group(1), int(m.group(3)))
        out.setdefault(key, {})[m.group(4) or "ns"] = val
    return out


def histograms(run):
    """(loop, mode) -> {log2 bucket: count} for CPU 0."""
    out = {}
    for m, val in run.matching(r"hist\.(bare|depriv)\.(\w+)\.cpu0\.(\d+)"):
        out.setdefault((m.group(2), m.group(1)), {})[int(m.group(3))] = int(val)
    return out


def exit_kinds(run):
    """phase -> {exit reason: count} summed over CPUs."""
    out = {}
    for m, val in run.matching(r"exitkind\.(\w+)\.(\w+)"):
        out.setdefault(m.group(1), {})[m.group(2)] = int(val)
    return out


def cycles_to_ns(run, cycles):
    """TSC cycles -> ns with the guest kernel's tsc_khz; None if either is unknown."""
    khz = run.value("tsc_khz")
    return cycles * 1e6 / khz if khz and cycles is not None else None


def gbench(run):
    """(op, mode) -> {median, p10}: Google Benchmark round trips in ns per call."""
    out = {}
    for m, val in run.matching(r"gb\.(bare|depriv)\.(\w+?)(?:\.(p10))?"):
        out.setdefault((m.group(2), m.group(1)), {})[m.group(3) or "median"] = val
    return out


def hyp_cycles(run):
    """kind -> {count, mean, max, hist: {log2 bucket: exits}}, summed over CPUs: the
    cycles vbh spent per exit (#VMEXIT to the next VMRUN), from /sys/kernel/vbh/exit_cycles."""
    per_cpu = {}
    for m, val in run.matching(r"hypcyc\.(\w+)\.cpu(\d+)\.(count|mean|max)"):
        per_cpu.setdefault((m.group(1), int(m.group(2))), {})[m.group(3)] = val
    out = {}
    for (kind, _cpu), d in per_cpu.items():
        if not d.get("count") or d.get("mean") is None:
            continue
        k = out.setdefault(kind, {"count": 0, "sum": 0.0, "max": 0, "hist": {}})
        k["count"] += d["count"]
        k["sum"] += d["mean"] * d["count"]
        k["max"] = max(k["max"], d.get("max") or 0)
    for m, val in run.matching(r"hypcyc_hist\.(\w+)\.cpu(\d+)\.(\d+)"):
        if m.group(1) in out:
            hist = out[m.group(1)]["hist"]
            hist[int(m.group(3))] = hist.get(int(m.group(3)), 0) + int(val)
    for k in out.values():
        k["mean"] = k.pop("sum") / k["count"]
    return out


def median_bucket(hist):
    """The log2 bucket that holds the median sample of a {bucket: count} histogram."""
    total, seen = sum(hist.values()), 0
    for b in sorted(hist):
        seen += hist[b]
        if 2 * seen >= total:
            return b
    return None


_LOG_FIRST = re.compile(r"log-first\s+(.*)")


def log_totals(run):
    """kind -> events of that kind since the hypervisor's init (VBH_HC_LOG_SUMMARY), from
    the `logtotal.<kind>` metrics a scenario prints from /sys/kernel/vbh/log."""
    return {m.group(1): int(val) for m, val in run.matching(r"logtotal\.(\w+)")}


def log_firsts(run):
    """The first entries of each kind, which a flood cannot overwrite: one dict per
    `VBH-INFO log-first seq=... kind=...` line, in log order."""
    out = []
    for text in run.info:
        m = _LOG_FIRST.match(text)
        if m:
            out.append(dict(w.split("=", 1) for w in m.group(1).split() if "=" in w))
    return out
