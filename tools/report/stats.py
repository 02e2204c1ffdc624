"""Statistics of a bench boot, computed here from the raw numbers the guest printed.

The bench scenario (tests/scenarios/bench.sh) prints samples and totals only; derive()
turns them into the metrics the report reads, under the names the guest used to print:
    wl.MODE.W[.p10|.fastest|.max]  from samples wl.MODE.W.runR (ns per iteration, one per
                                   Google Benchmark repetition of run R)
    gb.MODE.OP[.p10]               from samples gb.MODE.OP (ns per call, per repetition)
    exits.PHASE.cpuN (exit/s)      from exitdelta.PHASE.cpuN and elapsed.PHASE
    rt.MODE.LOOP.cpuN[.cycles]     from rt....iters, .total_ns, .total_cycles (mean ns,
                                   mean cycles); benchmod's .min/.p50/.p99/hist stay as sent
    hypcyc.KIND.cpuN.mean          from .cycles (total) and .count
    launch.insmod (ms)             from ns
A metric the log already holds (a log from before raw samples) is left as it is.
"""
import re
import statistics


def median(values):
    """The median; the mean of the two middle values for an even count (as Google
    Benchmark's own median aggregate)."""
    return statistics.median(values)


def p10(values):
    """The 10th percentile as the guest computed it before: the value at index n/10 of
    the sorted samples. Host preemption of a vCPU only ever adds time, so a low
    percentile is the least disturbed estimate when most repetitions were hit."""
    s = sorted(values)
    return s[len(s) // 10]


def mean(values):
    return sum(values) / len(values)


def workload(runs):
    """runs: the per-repetition samples of each run -> {"": median over the runs of each
    run's median, p10: lowest run p10, fastest: lowest run mean, max: highest run mean}."""
    runs = [r for r in runs if r]
    if not runs:
        return {}
    means = [mean(r) for r in runs]
    return {"": median([median(r) for r in runs]), ".p10": min(p10(r) for r in runs),
            ".fastest": min(means), ".max": max(means)}


def _runs(samples):
    """(mode, workload) -> [samples of run 1, run 2, ...] in run order."""
    out = {}
    for name, (_unit, values) in samples.items():
        m = re.fullmatch(r"wl\.(bare|depriv)\.(\w+)\.run(\d+)", name)
        if m:
            out.setdefault((m.group(1), m.group(2)), {})[int(m.group(3))] = values
    return {k: [v[r] for r in sorted(v)] for k, v in out.items()}


def derive(metrics, samples):
    """Add the derived metrics (name -> (value, unit)) to `metrics`; returns it."""
    new = {}
    for (mode, w), runs in _runs(samples).items():
        for suffix, v in workload(runs).items():
            new[f"wl.{mode}.{w}{suffix}"] = (v, "ns")
    for name, (unit, values) in samples.items():
        if re.fullmatch(r"gb\.(bare|depriv)\.\w+", name) and values:
            new[name] = (median(values), unit)
            new[name + ".p10"] = (p10(values), unit)
    value = {k: v[0] for k, v in metrics.items()}
    for name, n in value.items():
        m = re.fullmatch(r"exitdelta\.(\w+)\.cpu(\d+)", name)
        if m and value.get(f"elapsed.{m.group(1)}"):
            new[f"exits.{m.group(1)}.cpu{m.group(2)}"] = (
                n * 1e9 / value[f"elapsed.{m.group(1)}"], "exit/s")
        m = re.fullmatch(r"(rt\.\w+\.\w+\.cpu\d+)\.iters", name)
        if m and n:
            for total, key, unit in (("total_ns", "", "ns"), ("total_cycles", ".cycles", "cycles")):
                if f"{m.group(1)}.{total}" in value:
                    new[m.group(1) + key] = (value[f"{m.group(1)}.{total}"] / n, unit)
        m = re.fullmatch(r"(hypcyc\.\w+\.cpu\d+)\.count", name)
        if m and n and f"{m.group(1)}.cycles" in value:
            new[m.group(1) + ".mean"] = (value[f"{m.group(1)}.cycles"] / n, "cycles")
    if metrics.get("launch.insmod", (0, ""))[1] == "ns":
        metrics["launch.insmod"] = (metrics["launch.insmod"][0] / 1e6, "ms")
    for k, v in new.items():
        metrics.setdefault(k, v)
    return metrics
