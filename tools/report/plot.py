"""report.png: workload ratios, round-trip costs (benchmod loops and Google Benchmark),
the round-trip cost histogram and the hypervisor's own per-exit cycle histogram."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import vbhlog  # noqa: E402


def _workloads(ax, run):
    wl = sorted(vbhlog.workloads(run).items())
    names = [w for w, d in wl if d.get("bare") and d.get("depriv")]
    if names:
        d = dict(wl)
        ratios = [d[w]["depriv"] / d[w]["bare"] for w in names]
        bars = ax.bar(names, ratios, color=["tab:gray" if w == "calib" else "tab:red" if r > 1.05
                                            else "tab:blue" for w, r in zip(names, ratios)])
        for key, style, label in (("_p10", "kD", "p10 repetition ratio"),
                                  ("_fastest", "w^", "fastest-run-mean ratio")):
            pts = [(i, d[w]["depriv" + key] / d[w]["bare" + key]) for i, w in enumerate(names)
                   if d[w].get("depriv" + key) and d[w].get("bare" + key)]
            if pts:
                ax.plot([i for i, _ in pts], [r for _, r in pts], style, markersize=6,
                        markeredgecolor="black", label=label)
        ax.legend(fontsize=8)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.set_ylabel("deprivileged / bare (median repetition)")
        ax.set_title("Workload slowdown under vbh (same boot)")
    else:  # bare-only boot: show what was measured, say what is missing
        names = [w for w, d in wl if d.get("bare")]
        ax.bar(names, [dict(wl)[w]["bare"] for w in names], color="tab:gray")
        ax.set_yscale("log")
        ax.set_ylabel("ns per iteration (bare)")
        ax.set_title("Workloads, BARE only (no deprivileged run in this log)")
    ax.tick_params(axis="x", rotation=30)


def _mode_bars(ax, names, value, empty):
    """Bare and deprivileged bars side by side for each name, log scale, labelled;
    value(name, mode) is the bar's height, a falsy one is labelled `empty`."""
    width = 0.4
    for i, mode in enumerate(("bare", "depriv")):
        vals = [value(n, mode) for n in names]
        bars = ax.bar([x + (i - 0.5) * width for x in range(len(names))], vals, width,
                      label=mode)
        ax.bar_label(bars, labels=[f"{v:.0f}" if v else empty for v in vals], fontsize=7)
    ax.set_xticks(range(len(names)), names)
    ax.set_yscale("log")
    ax.legend()


def _log2_hist(ax, buckets, label, linestyle="-"):
    """One log2-bucket histogram ({bucket: count}) as the fraction per bucket; an empty
    bucket inside the range breaks the line."""
    xs = list(range(min(buckets), max(buckets) + 1))
    total = sum(buckets.values())
    ys = [buckets[b] / total if b in buckets else float("nan") for b in xs]
    ax.plot([2 ** b for b in xs], ys, marker="o", markersize=3, linestyle=linestyle,
            label=label)


def _roundtrips(ax, run):
    rt = vbhlog.roundtrips(run)
    loops = sorted({k[0] for k in rt if k[2] == 0})

    def median_ns(loop, mode):
        r = rt.get((loop, mode, 0), {})
        return vbhlog.cycles_to_ns(run, r.get("p50")) or r.get("ns", 0)

    _mode_bars(ax, loops, median_ns, "")
    ax.set_ylabel("ns per round trip, median (CPU 0)")
    ax.set_title("In-kernel round trips (benchmod)")


def _histogram(ax, run):
    hist = vbhlog.histograms(run)
    for (loop, mode), buckets in sorted(hist.items()):
        _log2_hist(ax, buckets, f"{loop} ({mode})", "-" if mode == "depriv" else ":")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("TSC cycles per iteration (log2 bucket)")
    ax.set_yscale("log")
    ax.set_ylabel("fraction of iterations (log)")
    ax.set_title("Round-trip cost distribution (CPU 0)")
    if hist:
        ax.legend(fontsize=7)


def _na(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _gbench(ax, run):
    gb = vbhlog.gbench(run)
    ops = [o for o in sorted({k[0] for k in gb}) if not o.endswith("_nop")]
    above = {}
    for mode in ("bare", "depriv"):
        for op in ops:
            base = gb.get(("user_nop" if op.startswith("user_") else "kernel_nop", mode), {})
            v, b = gb.get((op, mode), {}).get("median"), base.get("median")
            above[op, mode] = max(v - b, 1.0) if v is not None and b is not None else 0
    if not any(above.values()):
        _na(ax, "n/a: no Google Benchmark round trips (with their nop) in this log")
        return
    _mode_bars(ax, ops, lambda op, mode: above[op, mode], "n/a")
    ax.tick_params(axis="x", rotation=30)
    ax.set_ylabel("ns per call above its nop, median")
    ax.set_title("Google Benchmark round trips (user space, CPU 0)")


def _hypcyc(ax, run):
    hc = vbhlog.hyp_cycles(run)
    if not any(d["hist"] for d in hc.values()):
        _na(ax, "n/a: no /sys/kernel/vbh/exit_cycles in this boot")
        return
    for kind, d in sorted(hc.items(), key=lambda kv: -kv[1]["count"]):
        if d["hist"]:
            _log2_hist(ax, d["hist"], f"{kind} ({d['count']:.0f} exits)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("TSC cycles in vbh per exit (log2 bucket)")
    ax.set_yscale("log")
    ax.set_ylabel("fraction of exits (log)")
    ax.set_title("Hypervisor time per exit (#VMEXIT to VMRUN, all CPUs)")
    ax.legend(fontsize=7)


def write_png(run, path):
    fig, axes = plt.subplots(2, 3, figsize=(17, 10))
    axes = axes.flatten()
    _workloads(axes[0], run)
    _roundtrips(axes[1], run)
    _histogram(axes[2], run)
    _gbench(axes[3], run)
    _hypcyc(axes[4], run)
    axes[5].set_axis_off()
    fig.suptitle("vbh under QEMU TCG: ratios are meaningful, absolute costs are TCG's")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
