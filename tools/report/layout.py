"""The report's fixed layout, shared by report.py, nested.py, protected.py and donate.py (write it) and check.py
(validates it): the section headings in order, the text of a missing number, tables."""

NA = "n/a"
SECTIONS = ["## Run", "## Workloads: bare vs deprivileged", "## Exits per second per CPU",
            "## Round-trip costs", "## Google Benchmark round trips",
            "## Hypervisor time per exit", "## Launch and footprint",
            "## Nested SVM: KVM's guests on vbh",
            "## Protected guests: private-fault cost and workload",
            "## Donate and scrub: with and without the IOMMU", "## Checks", "## Caveats"]


def num(v, fmt="{:.1f}"):
    return NA if v is None else fmt.format(v)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
