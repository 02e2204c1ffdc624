"""The report's fixed layout, shared by report.py (writes it) and check.py (validates it):
the section headings in order and the text of a missing number."""

NA = "n/a"
SECTIONS = ["## Run", "## Workloads: bare vs deprivileged", "## Exits per second per CPU",
            "## Round-trip costs", "## Google Benchmark round trips",
            "## Hypervisor time per exit", "## Launch and footprint", "## Checks", "## Caveats"]
