"""The report's donate + scrub section (issue 11): GUEST_DONATE + GUEST_RECLAIM pairs per
second with the IOMMU owned and without one.

donatebench.ko (tests/guest-modules/donatebench) times each pair; lib.sh's donate_bench
prints VBH-METRIC donate.<frames>.<iters|ns|p50|min|max> and donate.iommu_units. The
bench boot runs it with QEMU's VT-d unit owned; the donate_rate boot (boot.sh --iommu
none: no DMAR table) without. Ownership is decided at launch from the firmware's tables,
so these are two boots: compare their ratio, not single figures.
"""
import vbhlog
from layout import NA, num, table

SIZES = {1: "4 KiB (1 frame)", 512: "2 MiB (512 frames, one NPT leaf)"}


def figures(run, pages):
    """(p50 µs per pair, pairs per second at the median, mean µs per pair) or Nones."""
    p50 = vbhlog.cycles_to_ns(run, run.value(f"donate.{pages}.p50"))
    iters, ns = run.value(f"donate.{pages}.iters"), run.value(f"donate.{pages}.ns")
    mean = ns / iters if iters and ns else None
    return (p50 / 1e3 if p50 else None, 1e9 / p50 if p50 else None,
            mean / 1e3 if mean else None)


def _units(run):
    u = run.value("donate.iommu_units")
    return NA if u is None else f"{u:.0f}"


def section(run, donate_log=None):
    """Markdown: one row per size; the owned column from the bench boot."""
    other = None
    note = "no --donate-log given (qemu-nested/test.sh's bench-report step boots donate_rate)"
    if donate_log:
        try:
            with open(donate_log, errors="replace") as f:
                other = vbhlog.parse(f.read())
            note = f"`{donate_log.rsplit('/', 1)[-1]}`"
        except OSError as e:
            note = f"cannot read {donate_log}: {e.strerror}"
    rows = []
    for pages, what in SIZES.items():
        own = figures(run, pages)
        none = figures(other, pages) if other else (None, None, None)
        ratio = own[0] / none[0] if own[0] and none[0] else None
        rows.append([what, num(own[0], "{:.1f}"), num(own[1], "{:.0f}"), num(own[2], "{:.1f}"),
                     num(none[0], "{:.1f}"), num(none[1], "{:.0f}"), num(none[2], "{:.1f}"),
                     num(ratio, "{:.2f}")])
    head = ("GUEST_DONATE + GUEST_RECLAIM of the same frames from the host kernel "
            "(donatebench.ko): the donation leaves the host NPT and the IOMMU's DMA table and "
            "waits for the IOTLB invalidation to complete; the reclaim scrubs and maps back. "
            f"Median per pair (µs) and pairs per second at that median. IOMMU units owned: "
            f"{_units(run)} in this boot, {_units(other) if other else NA} in the "
            f"baseline boot ({note}). Two boots: ownership is decided at launch.\n\n")
    return head + table(["size", "owned p50 (µs)", "owned (pairs/s)", "owned mean (µs)",
                         "no IOMMU p50 (µs)", "no IOMMU (pairs/s)", "no IOMMU mean (µs)",
                         "ratio (x)"], rows)
