"""report.py --check: is a produced report well formed?

Rules: every section heading is present; in every table, each cell of a numeric column
(a header with a unit in parentheses, e.g. "bare (ns)") is a number or "n/a"; at least
one workload has a bare number; report.png is a PNG. With require_depriv, every workload
also has a deprivileged number and ratio, the vmmcall round trip was measured both
in benchmod's loop and by Google Benchmark (kernel_vmmcall), and the donate + scrub
pair of one frame with the IOMMU vbh owns.
"""
import os
import re

from layout import NA, SECTIONS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tables(text):
    """(section, header, rows) for each markdown table."""
    section, header, rows, out = None, None, [], []
    for line in text.splitlines() + [""]:
        if line.startswith("## "):
            section = line
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(re.fullmatch(r"-+", c) for c in cells):
                rows.append(cells)
        elif header is not None:
            out.append((section, header, rows))
            header, rows = None, []
    return out


def is_number(cell):
    try:
        float(cell)
        return True
    except ValueError:
        return False


def check_table(section, header, rows):
    problems = []
    numeric = [i for i, h in enumerate(header) if re.search(r"\(.+\)", h)]
    for r in rows:
        if len(r) != len(header):
            problems.append(f"{section}: row has {len(r)} cells, header {len(header)}: {r}")
            continue
        problems += [f"{section}: '{header[i]}' of {r[0]} is not a number: '{r[i]}'"
                     for i in numeric if r[i] != NA and not is_number(r[i])]
    return problems


def check_workloads(found, require_depriv):
    problems = []
    wl = [t for t in found if t[0] == SECTIONS[1]]
    if not wl or not wl[0][2]:
        return ["no workload table"]
    header, rows = wl[0][1], wl[0][2]
    col = {h.split(" (")[0]: i for i, h in enumerate(header)}
    if not any(is_number(r[col["bare"]]) for r in rows):
        problems.append("no workload has a bare number")
    if require_depriv:
        problems += [f"workload {r[0]}: no deprivileged number or ratio" for r in rows
                     if not (is_number(r[col["deprivileged"]]) and is_number(r[col["ratio"]]))]
    return problems


def check_donate(found):
    """The donate + scrub section has the owned 4 KiB pair (bench boot, deprivileged)."""
    heading = next(s for s in SECTIONS if s.startswith("## Donate and scrub"))
    rows = [r for t in found if t[0] == heading for r in t[2]]
    if not any(r[0].startswith("4 KiB") and len(r) > 1 and is_number(r[1]) for r in rows):
        return ["no donate + scrub figure of one frame with the IOMMU owned"]
    return []


def check_report(outdir, require_depriv=False):
    md, png = os.path.join(outdir, "report.md"), os.path.join(outdir, "report.png")
    if not os.path.isfile(md):
        return [f"{md} missing"]
    with open(md) as f:
        text = f.read()
    problems = [f"section missing: {s}" for s in SECTIONS if s + "\n" not in text]
    found = tables(text)
    for t in found:
        problems += check_table(*t)
    problems += check_workloads(found, require_depriv)
    if require_depriv:
        rt = [r for t in found if t[0] == SECTIONS[3] for r in t[2]]
        if not any(r[0] == "vmmcall" and r[1] == "depriv" and is_number(r[3]) for r in rt):
            problems.append("no deprivileged vmmcall round trip")
        gb = [r for t in found if t[0] == SECTIONS[4] for r in t[2]]
        if not any(r[0] == "kernel_vmmcall" and is_number(r[3]) for r in gb):
            problems.append("no deprivileged Google Benchmark kernel_vmmcall round trip")
        problems += check_donate(found)
    try:
        with open(png, "rb") as f:
            if f.read(8) != PNG_MAGIC:
                problems.append(f"{png} is not a PNG")
    except OSError:
        problems.append(f"{png} missing")
    return problems
