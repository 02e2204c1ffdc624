#!/usr/bin/python3
"""Self-test of the report's protected-guest and donate + scrub sections (issues 13, 11):
    /usr/bin/python3 tools/report/test_protected.py
Medians over rounds, ratios of the same boot, vbh's per-page counters as differences of
the protected and ordinary windows, pairs per second from the median cycles; n/a (never
a made-up number) for what a log lacks; "not measured" without the protected log; every
table passes report.py --check's number rule."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402
import donate  # noqa: E402
import protected  # noqa: E402
import vbhlog  # noqa: E402


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def touch_log():
    lines = ["VBH-METRIC touch_pages 100 pages", "VBH-METRIC touch_reps 3 rounds"]
    first = {("bare", "ordinary"): [10000, 12000, 11000], ("bare", "protected"): [20000, 22000, 21000],
             ("vbh", "ordinary"): [40000, 50000, 45000], ("vbh", "protected"): [90000, 100000, 95000]}
    for (mode, vm), vals in first.items():
        for r, v in enumerate(vals, 1):
            p = f"VBH-METRIC vmm_touch_{mode}_{vm}_{r}"
            lines += [f"{p}_touch_first_ns_per_page {v} ns", f"{p}_touch_again_ns_per_page 500 ns",
                      f"{p}_touch_cpu_ns 2000000 ns"]
    for r in (1, 2, 3):  # the protected run: 100 donates more, 3000 cycles each
        w = f"VBH-METRIC win.touch_vbh_ordinary_{r}"
        lines += [f"{w}.run.hc 10 count", f"{w}.run.hc_cycles 20000 count",
                  f"{w}.run.fills 150 count", f"{w}.run.l2_reflected 120 count"]
        w = f"VBH-METRIC win.touch_vbh_protected_{r}"
        lines += [f"{w}.run.hc 110 count", f"{w}.run.hc_cycles 320000 count",
                  f"{w}.run.fills 250 count", f"{w}.run.l2_reflected 330 count",
                  f"{w}.exit.hc 40 count", f"{w}.exit.hc_cycles 400000 count"]
    lines.append("VBH-CHECK vmm_touch_vbh_protected_1 pass summary 24 checks 24 passed 0 failed")
    return "\n".join(lines) + "\n"


class ProtectedSectionTest(unittest.TestCase):
    def test_figures_and_counters(self):
        with tempfile.TemporaryDirectory() as d:
            md = protected.section(write(d, "last.log", touch_log()))
        # First touch: medians 11 / 21 / 45 / 95 µs; on vbh 50 µs above, 2.11x.
        self.assertIn("| first | first touch of a 4 KiB page (fault-in), per page | 11.00 | 21.00 "
                      "| 1.91 | 45.00 | 95.00 | 2.11 |", md)
        self.assertIn("Private-fault cost on vbh: 50.0 µs per page above an ordinary guest's "
                      "first touch (2.11x).**", md)
        self.assertIn("| read | sum of every qword of a mapped page, per page | n/a | n/a | n/a |", md)
        self.assertIn("| hypercall exits more than the ordinary run, per page | 1.00 |", md)
        self.assertIn("| vbh's cycles in those hypercalls, each | 3000 |", md)
        self.assertIn("| shadow NPT fills per page, protected | 2.50 |", md)
        self.assertIn("| L2 exits reflected to KVM per page, ordinary | 1.20 |", md)
        self.assertIn("| vbh's cycles per teardown hypercall | 10000 |", md)
        self.assertIn("Checks failed in that boot: none", md)
        for t in check.tables(md):
            self.assertEqual(check.check_table("protected", t[1], t[2]), [])

    def test_not_measured(self):
        self.assertTrue(protected.section(None).startswith("Not measured in this run"))
        self.assertTrue(protected.section("/nonexistent/p.log").startswith(
            "Not measured in this run: cannot read"))

    def test_missing_figures_are_na(self):
        with tempfile.TemporaryDirectory() as d:
            md = protected.section(write(d, "p.log", "VBH-METRIC touch_pages 100 pages\n"
                                         "VBH-CHECK vmm_touch_bare_protected_1 fail exit 3\n"))
        self.assertIn("| first | first touch of a 4 KiB page (fault-in), per page | n/a | n/a | n/a "
                      "| n/a | n/a | n/a |", md)
        self.assertIn("Private-fault cost on vbh: n/a (a first-touch figure is missing)", md)
        self.assertIn("Checks failed in that boot: vmm_touch_bare_protected_1", md)
        for t in check.tables(md):
            self.assertEqual(check.check_table("protected", t[1], t[2]), [])


class DonateSectionTest(unittest.TestCase):
    OWNED = ("VBH-METRIC tsc_khz 2000000 kHz\nVBH-METRIC donate.iommu_units 1 units\n"
             "VBH-METRIC donate.1.iters 2000 pairs\nVBH-METRIC donate.1.ns 100000000 ns\n"
             "VBH-METRIC donate.1.p50 80000 cycles\n")
    NONE = ("VBH-METRIC tsc_khz 2000000 kHz\nVBH-METRIC donate.iommu_units 0 units\n"
            "VBH-METRIC donate.1.iters 2000 pairs\nVBH-METRIC donate.1.ns 80000000 ns\n"
            "VBH-METRIC donate.1.p50 60000 cycles\n")

    def test_owned_and_baseline(self):
        run = vbhlog.parse(self.OWNED)
        with tempfile.TemporaryDirectory() as d:
            md = donate.section(run, write(d, "donate_rate-smp2.log", self.NONE))
        # 80000 cycles at 2 GHz: 40 µs, 25000 pairs/s; mean 50 µs. Baseline 30 µs: 1.33x.
        self.assertIn("| 4 KiB (1 frame) | 40.0 | 25000 | 50.0 | 30.0 | 33333 | 40.0 | 1.33 |", md)
        self.assertIn("| 2 MiB (512 frames, one NPT leaf) | n/a | n/a | n/a | n/a | n/a | n/a | n/a |", md)
        self.assertIn("IOMMU units owned: 1 in this boot, 0 in the baseline boot", md)
        for t in check.tables(md):
            self.assertEqual(check.check_table("donate", t[1], t[2]), [])

    def test_check_wants_the_owned_pair(self):
        md = donate.section(vbhlog.parse(self.OWNED))
        self.assertEqual(check.check_donate(check.tables("## Donate and scrub: with and without "
                                                         "the IOMMU\n" + md)), [])
        md = donate.section(vbhlog.parse("VBH-METRIC tsc_khz 2000000 kHz\n"))
        self.assertEqual(check.check_donate(check.tables("## Donate and scrub: with and without "
                                                         "the IOMMU\n" + md)),
                         ["no donate + scrub figure of one frame with the IOMMU owned"])

    def test_no_baseline(self):
        md = donate.section(vbhlog.parse(self.OWNED))
        self.assertIn("| 4 KiB (1 frame) | 40.0 | 25000 | 50.0 | n/a | n/a | n/a | n/a |", md)
        self.assertIn("no --donate-log given", md)
        md = donate.section(vbhlog.parse(self.OWNED), "/nonexistent/d.log")
        self.assertIn("cannot read /nonexistent/d.log", md)


if __name__ == "__main__":
    unittest.main()
