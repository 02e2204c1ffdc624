#!/usr/bin/python3
"""Self-test of the report generator on a synthetic bench log with both halves:
    /usr/bin/python3 tools/report/test_report.py
Checks the statistics computed from the guest's raw samples and totals (stats.py: medians,
p10, run means, exit rates, round-trip and per-exit means, a samples line broken by a
kernel message), that a log in the older pre-computed form still reports, that every
metric family lands in report.md (Google Benchmark round trips above
their nop, the hypervisor's per-exit cycles summed over CPUs), that --check accepts the
result (also with --require-depriv), that a log without exit_cycles gives n/a rather than
a failure, and that --check rejects a missing section, a garbled number, a bare-only
report or one without the Google Benchmark kernel_vmmcall under --require-depriv, and a
missing PNG."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import matplotlib  # noqa: F401
except ImportError:  # Debian's matplotlib is built for the system interpreter (run.sh)
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402
import nested  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402
import vbhlog  # noqa: E402

LOG = """\
Booting from ROM..
VBH-INFO kernel 6.12.117+deb12-amd64, 2 CPUs, scenario bench, /init reached at 5.1s
VBH-INFO bench: 2 CPUs, 5 reps, scale 100 %, 990504 kB
VBH-METRIC footprint.ram 1073206272 B
VBH-CHECK bench_benchmod pass
VBH-METRIC rt.bare.nop.cpu0.iters 20000 iterations
VBH-METRIC rt.bare.nop.cpu0.total_ns 800000 ns
VBH-METRIC rt.bare.nop.cpu0.total_cycles 1200000 cycles
VBH-METRIC rt.bare.nop.cpu0.min 42 cycles
VBH-METRIC rt.bare.nop.cpu0.p50 60 cycles
VBH-METRIC tsc_khz 2000000 kHz
VBH-METRIC rt.bare.cpuid.cpu0 55.0 ns
VBH-METRIC rt.bare.cpuid.cpu0.cycles 80.0 cycles
VBH-METRIC rt.bare.cpuid.cpu0.min 63 cycles
VBH-METRIC hist.bare.cpuid.cpu0.6 19990 count
VBH-METRIC hist.bare.cpuid.cpu0.16 10 count
VBH-METRIC wl.bare.calib 30000.0 ns
VBH-METRIC wl.depriv.calib 30300.0 ns
VBH-SAMPLES wl.bare.exec.run1 ns 9000000.0 8000000.0
VBH-SAMPLES wl.bare.exec.run1 ns 10000000.0
VBH-SAMPLES wl.bare.exec.run2 ns 10000000.0 16000000.0 10000000.0
VBH-SAMPLES wl.bare.exec.run3 ns 13000000.0 9000000.0 11000000.0
VBH-CHECK bench_bare_exec pass 3 runs; repetitions per run: 3 3 3
[   30.1] some kernel line VBH-METRIC wl.bare.syscall 500.00 ns
VBH-METRIC wl.bare.syscall.max 550.00 ns
VBH-METRIC launch.insmod 812500000 ns
VBH-METRIC launch.loader_log 640.250 ms
VBH-CHECK bench_launch pass state=running cpus=2/2 backend=svm version=0.1
VBH-METRIC elapsed.idle 2000000000 ns
VBH-METRIC exitdelta.idle.cpu0 6 exits
VBH-METRIC exitdelta.idle.cpu1 5 exits
VBH-METRIC exitkind.idle.nmi 20 exits
VBH-METRIC elapsed.exec 4000000000 ns
VBH-METRIC exitdelta.exec.cpu0 6000 exits
VBH-METRIC exitdelta.exec.cpu1 40 exits
VBH-METRIC exitkind.exec.msr_read 900 exits
VBH-SAMPLES wl.depriv.exec.run1 ns 9800000.0 8400000.0 11500000.0
VBH-SAMPLES wl.depriv.exec.run2 ns 11500000.0 14500000.0 11500000.0
VBH-SAMPLES wl.depriv.exec.run3 ns 12000000.0 11600000.0 12100000.0
[   41.2] vbh: a kernel line VBH-SAMPLES wl.depriv.exec.run3 ns 1.0 2.0 3.0 [  41.3] usb 1-1
VBH-METRIC wl.depriv.syscall 505.00 ns
VBH-METRIC wl.depriv.syscall.max 530.00 ns
VBH-METRIC rt.depriv.nop.cpu0 41.0 ns
VBH-METRIC rt.depriv.nop.cpu0.cycles 61.0 cycles
VBH-METRIC rt.depriv.nop.cpu0.min 42 cycles
VBH-METRIC rt.depriv.nop.cpu0.p50 62 cycles
VBH-METRIC rt.depriv.vmmcall.cpu0.iters 20000 iterations
VBH-METRIC rt.depriv.vmmcall.cpu0.total_ns 220000000 ns
VBH-METRIC rt.depriv.vmmcall.cpu0.total_cycles 460000000 cycles
VBH-METRIC rt.depriv.vmmcall.cpu0.min 20000 cycles
VBH-METRIC rt.depriv.vmmcall.cpu0.p50 22062 cycles
VBH-METRIC rt.depriv.vmmcall.cpu0.p99 40000 cycles
VBH-METRIC hist.depriv.vmmcall.cpu0.14 19000 count
VBH-METRIC hist.depriv.vmmcall.cpu0.15 1000 count
VBH-SAMPLES gb.bare.user_nop ns 21.0 19.5 20.0
VBH-METRIC gb.bare.user_cpuid 25.0 ns
VBH-CHECK gb_bare_user_vmmcall pass skipped as expected: bare: VMMCALL from ring 3 raised #UD
VBH-METRIC gb.bare.kernel_nop 800.0 ns
VBH-METRIC gb.bare.kernel_nop.p10 790.0 ns
VBH-METRIC gb.bare.kernel_wrmsr_efer 830.0 ns
VBH-METRIC gb.depriv.user_nop 20.0 ns
VBH-METRIC gb.depriv.user_cpuid 26.0 ns
VBH-METRIC gb.depriv.user_vmmcall 11770.0 ns
VBH-METRIC gb.depriv.user_vmmcall.p10 11500.0 ns
VBH-METRIC gb.depriv.kernel_nop 870.0 ns
VBH-SAMPLES gb.depriv.kernel_vmmcall ns 26000.0 25870.0 24000.0 25000.0 26500.0 27000.0
VBH-SAMPLES gb.depriv.kernel_vmmcall ns 25900.0 25800.0 24500.0 30000.0 25870.0
VBH-METRIC gb.depriv.kernel_wrmsr_efer 24870.0 ns
VBH-CHECK gb_depriv_kernel_wrmsr_efer pass 50 x 100 calls, median 24870.0 ns
VBH-METRIC hypcyc.hypercall.cpu0.count 100 exits
VBH-METRIC hypcyc.hypercall.cpu0.cycles 300000 cycles
VBH-METRIC hypcyc.hypercall.cpu0.max 9000 cycles
VBH-METRIC hypcyc_hist.hypercall.cpu0.11 100 count
VBH-METRIC hypcyc.hypercall.cpu1.count 300 exits
VBH-METRIC hypcyc.hypercall.cpu1.cycles 300000 cycles
VBH-METRIC hypcyc.hypercall.cpu1.max 5000 cycles
VBH-METRIC hypcyc_hist.hypercall.cpu1.9 300 count
VBH-METRIC hypcyc.msr_write.cpu0.count 10 exits
VBH-METRIC hypcyc.msr_write.cpu0.mean 2000.0 cycles
VBH-METRIC hypcyc.msr_write.cpu0.max 2500 cycles
VBH-METRIC hypcyc_hist.msr_write.cpu0.10 10 count
VBH-METRIC footprint.hyp 35651584 B
VBH-METRIC footprint.ram 1073206272 B
VBH-METRIC footprint.target 10534020 B
VBH-METRIC footprint.part.image 1048576 B
VBH-METRIC footprint.part.pool 34603008 B
VBH-METRIC wl.bare.broken notanumber ns
VBH-METRIC donate.iommu_units 1 units
VBH-METRIC donate.1.iters 2000 pairs
VBH-METRIC donate.1.ns 2000000000 ns
VBH-METRIC donate.1.p50 1000000 cycles
VBH-DONE 20 0
"""

FOOTPRINT_4G = """\
VBH-CHECK footprint_target pass hypervisor 12582912 B of 4294434816 B RAM
VBH-METRIC footprint.hyp 12582912 B
VBH-METRIC footprint.ram 4294434816 B
VBH-METRIC footprint.target 16977478 B
VBH-METRIC footprint.part.image 1048576 B
VBH-METRIC footprint.part.pool 11534336 B
VBH-DONE 1 0
"""


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):  # matplotlib is slow to start: render once, copy per test
        cls.master = tempfile.TemporaryDirectory()
        log = os.path.join(cls.master.name, "bench.log")
        with open(log, "w") as f:
            f.write(LOG)
        exitcost = os.path.join(cls.master.name, "exitcost.txt")
        with open(exitcost, "w") as f:  # tests/exitcost/run.sh's output; no npf row here
            f.write("exit-kind instructions/exit harness total\n"
                    "VBH-METRIC exitcost_hypercall 134.0 instr\n"
                    "VBH-METRIC exitcost_msr_write 143.0 instr\n")
        fp = os.path.join(cls.master.name, "footprint-4g.log")  # a footprint boot, 4 GiB
        with open(fp, "w") as f:
            f.write(FOOTPRINT_4G)
        report.write_report(log, os.path.join(cls.master.name, "report"), exitcost=exitcost,
                            footprint_logs=[fp])

    @classmethod
    def tearDownClass(cls):
        cls.master.cleanup()

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.dir.name, "report")
        shutil.copytree(os.path.join(self.master.name, "report"), self.out)
        with open(os.path.join(self.out, "report.md")) as f:
            self.md = f.read()

    def tearDown(self):
        self.dir.cleanup()

    def rewrite(self, old, new):
        path = os.path.join(self.out, "report.md")
        self.assertIn(old, self.md)
        with open(path, "w") as f:
            f.write(self.md.replace(old, new, 1))

    def test_content(self):
        self.assertIn("| exec | fork + execve + wait of a static binary | 10000000.0 | "
                      "11500000.0 | 1.150 | 1.050 | 1.100 | 33.3 | 26.3 |", self.md)
        self.assertIn("| calib | CONTROL", self.md)
        self.assertLess(self.md.index("| calib |"), self.md.index("| exec |"))  # control first
        self.assertIn("| syscall |", self.md)  # a record after kernel noise on its line
        self.assertNotIn("broken", self.md)    # an unparsable value is dropped
        self.assertIn("| idle | 3.0 | 2.5 | 5.5 |", self.md)
        self.assertIn("| exec | 900 | 0 |", self.md)  # exits by reason: msr_read, nmi
        # median 22062 - nop median 62 = 22000 cycles = 11000 ns at 2 GHz
        self.assertIn("| vmmcall | depriv | cpu0 | 22062 | 22000 | 11000.0 | 40000 | 20000 | "
                      "11000.0 |", self.md)
        self.assertIn("TSC: 2.000 GHz", self.md)
        self.assertIn("| loader-reported loader_log | 640.250 | ms |", self.md)
        self.assertIn("| hypervisor memory | 34.00 | MiB |", self.md)
        self.assertIn("| hypervisor share of RAM | 3.322 | % |", self.md)

    def test_footprint_per_ram_size(self):
        # one row per RAM size, smallest first, with the target next to it
        self.assertIn("| 1023 MiB | 34.00 | 3.322 | 10.05 | NO |", self.md)
        self.assertIn("| 4095 MiB | 12.00 | 0.293 | 16.19 | yes |", self.md)
        self.assertLess(self.md.index("| 1023 MiB |"), self.md.index("| 4095 MiB |"))
        # parts by RAM size, in KiB
        self.assertIn("| part | 1023 MiB RAM (KiB) | 4095 MiB RAM (KiB) |", self.md)
        self.assertIn("| pool | 33792 | 11264 |", self.md)

    def test_gbench(self):
        # above nop = median - the nop median of the same side (user_nop / kernel_nop)
        self.assertIn("| user_vmmcall | null hypercall from ring 3 (vbh: VBH_E_DENIED) | n/a | "
                      "11770.0 | n/a | 11500.0 | n/a | 11750.0 |", self.md)
        # 11 samples over two lines: median the 6th (25870), p10 the 2nd lowest (24500)
        self.assertIn("| kernel_vmmcall | ioctl: VMMCALL VBH_HC_VERSION | n/a | 25870.0 | n/a | "
                      "24500.0 | n/a | 25000.0 |", self.md)
        self.assertIn("| kernel_wrmsr_efer | ioctl: WRMSR EFER, same value (intercepted) | "
                      "830.0 | 24870.0 | n/a | n/a | 30.0 | 24000.0 |", self.md)
        self.assertIn("| kernel_nop | benchmod ioctl alone (baseline of kernel_*) | 800.0 | "
                      "870.0 | 790.0 | n/a | n/a | n/a |", self.md)
        self.assertIn("| gb_depriv_kernel_wrmsr_efer | pass |", self.md)

    def test_workload_from_samples(self):
        # bare exec runs [9,8,10] [10,16,10] [13,9,11] ms: run medians 9, 10, 11 -> 10;
        # p10 the lowest run p10 (8); run means 9, 12, 11 -> fastest 9, max 12.
        run = vbhlog.parse(LOG)
        self.assertEqual(len(run.samples["wl.bare.exec.run1"][1]), 3)  # two lines add up
        self.assertEqual(run.metrics["wl.bare.exec"], (10e6, "ns"))
        self.assertEqual(run.value("wl.bare.exec.p10"), 8e6)
        self.assertEqual(run.value("wl.bare.exec.fastest"), 9e6)
        self.assertEqual(run.value("wl.bare.exec.max"), 12e6)
        # the line a kernel message broke adds nothing to run 3
        self.assertEqual(run.samples["wl.depriv.exec.run3"][1], [12e6, 11.6e6, 12.1e6])
        self.assertEqual(run.value("wl.depriv.exec"), 11.5e6)
        self.assertAlmostEqual(run.value("wl.depriv.exec.fastest"), 9.9e6)
        self.assertEqual(run.value("wl.calib"), None)  # pre-computed lines stay as sent
        self.assertEqual(run.value("wl.bare.calib"), 30000.0)

    def test_derived_totals(self):
        run = vbhlog.parse(LOG)
        self.assertEqual(run.metrics["exits.exec.cpu0"], (1500.0, "exit/s"))  # 6000 in 4 s
        self.assertEqual(run.metrics["rt.depriv.vmmcall.cpu0"], (11000.0, "ns"))
        self.assertEqual(run.metrics["rt.depriv.vmmcall.cpu0.cycles"], (23000.0, "cycles"))
        self.assertEqual(run.value("hypcyc.hypercall.cpu1.mean"), 1000.0)
        self.assertEqual(run.metrics["launch.insmod"], (812.5, "ms"))
        self.assertEqual(run.value("gb.bare.user_nop"), 20.0)
        self.assertEqual(run.value("gb.bare.user_nop.p10"), 19.5)

    def test_stats_functions(self):
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertEqual(stats.median([4, 1, 3, 2]), 2.5)  # even count: mean of the middle two
        self.assertEqual(stats.p10(list(range(100, 0, -1))), 11)  # index 10 of 1..100
        self.assertEqual(stats.p10([5, 7, 6]), 5)
        self.assertEqual(stats.workload([]), {})
        self.assertEqual(stats.workload([[1, 2, 3], [], [10, 20, 30]]),
                         {"": 11.0, ".p10": 1, ".fastest": 2.0, ".max": 20.0})
        kept = {"wl.bare.x": (5.0, "ns")}  # a metric the log already has is not replaced
        stats.derive(kept, {"wl.bare.x.run1": ("ns", [1.0, 2.0, 3.0])})
        self.assertEqual(kept["wl.bare.x"], (5.0, "ns"))
        self.assertEqual(kept["wl.bare.x.p10"], (1.0, "ns"))

    def test_hyp_cycles(self):
        # CPUs summed: 400 exits, mean (100*3000 + 300*1000) / 400 = 1500 cycles = 750 ns
        # at 2 GHz; the median exit lies in bucket 9 (300 of 400); max over CPUs 9000.
        # The last column: instructions per exit from the exitcost file.
        self.assertIn("| hypercall | 400 | 1500 | 750.0 | [2^9, 2^10) | 512 | 9000 | 4500.0 | 134 |",
                      self.md)
        self.assertIn("| msr_write | 10 | 2000 | 1000.0 | [2^10, 2^11) | 1024 | 2500 | 1250.0 | 143 |",
                      self.md)
        self.assertLess(self.md.index("| hypercall | 400"), self.md.index("| msr_write | 10"))

    def test_no_exit_cycles_is_na(self):
        log = os.path.join(self.dir.name, "old.log")
        with open(log, "w") as f:
            f.write("\n".join(line for line in LOG.splitlines() if "hypcyc" not in line))
        out = os.path.join(self.dir.name, "old")
        report.write_report(log, out)
        with open(os.path.join(out, "report.md")) as f:
            md = f.read()
        self.assertIn("## Hypervisor time per exit\n\nn/a: no hypervisor exit-cycle", md)
        self.assertEqual(check.check_report(out, require_depriv=True), [])

    def test_check_require_gbench_vmmcall(self):
        self.rewrite("| n/a | 25870.0 |", "| n/a | n/a |")
        self.assertEqual(check.check_report(self.out), [])
        self.assertIn("no deprivileged Google Benchmark kernel_vmmcall round trip",
                      check.check_report(self.out, require_depriv=True))

    def test_check_accepts(self):
        self.assertEqual(check.check_report(self.out), [])
        self.assertEqual(check.check_report(self.out, require_depriv=True), [])

    def test_check_rejects_missing_section(self):
        self.rewrite("## Round-trip costs\n", "## Something else\n")
        self.assertTrue(any("section missing" in p for p in check.check_report(self.out)))

    def test_check_rejects_garbled_number(self):
        self.rewrite("| 11500000.0 |", "| 11.5e6ms |")
        self.assertTrue(any("not a number" in p for p in check.check_report(self.out)))

    def test_check_require_depriv(self):
        self.rewrite("| 11500000.0 | 1.150 | 1.050 |", "| n/a | n/a | n/a |")
        self.assertEqual(check.check_report(self.out), [])
        self.assertTrue(check.check_report(self.out, require_depriv=True))

    def test_check_rejects_missing_png(self):
        os.remove(os.path.join(self.out, "report.png"))
        self.assertTrue(any("png" in p for p in check.check_report(self.out)))


# A C program that prints every X-macro table as the compiler sees it, one line per entry.
ABI_DUMP = r"""
#include <stdio.h>
#include <vbh/log.h>
#include <vbh/stats.h>
#define P3_(name, value, text) printf("%s %s %lld %s\n", TABLE, #name, (long long)(value), #text);
#define P2_(name, nr) printf("VBH_CALLS %s %lld None\n", #name, (long long)VBH_HC_##name);
int main(void)
{
#define TABLE "VBH_EXIT_KINDS"
	VBH_EXIT_KINDS(P3_)
#undef TABLE
#define TABLE "VBH_LOG_KINDS"
	VBH_LOG_KINDS(P3_)
#undef TABLE
#define TABLE "VBH_STATUSES"
	VBH_STATUSES(P3_)
	VBH_CALLS(P2_)
	return VBH_EXIT_NPF != 3 || VBH_LOG_NPF != 1 || VBH_E_DENIED != 8;
}
"""


class AbiTableTest(unittest.TestCase):
    """vbhlog's run-time parse of the ABI's X-macro tables equals what a C compiler
    makes of the same headers, entry for entry."""

    def test_tables_match_the_compiler(self):
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            self.skipTest("no C compiler")
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "dump.c"), os.path.join(d, "dump")
            with open(src, "w") as f:
                f.write(ABI_DUMP)
            inc = os.path.join(vbhlog.ABI_DIR, "..")
            subprocess.run([cc, "-Wall", "-Werror", "-I", inc, "-o", exe, src], check=True)
            lines = subprocess.run([exe], check=True, capture_output=True,
                                   text=True).stdout.splitlines()
        compiled = {}
        for line in lines:
            table, name, value, text = line.split()
            compiled.setdefault(table, []).append(
                (name, int(value), None if text == "None" else text))
        self.assertEqual(set(compiled), {"VBH_EXIT_KINDS", "VBH_LOG_KINDS", "VBH_STATUSES",
                                         "VBH_CALLS"})
        for table, entries in compiled.items():
            self.assertEqual(vbhlog.abi_table(table), entries, table)

    def test_exit_kind_names(self):
        names = vbhlog.exit_kind_names()
        self.assertEqual(names[:4], ["hypercall", "msr_read", "msr_write", "npf"])
        # OTHER keeps its number (7); kinds added later come after it (stats.h)
        self.assertEqual(names[4:8], ["nmi", "virt_insn", "shutdown", "other"])
        self.assertEqual(names[8:], ["io", "init", "invd"])

    def test_unknown_table(self):
        with self.assertRaises(LookupError):
            vbhlog.abi_table("VBH_NO_SUCH_TABLE")


class LogSummaryTest(unittest.TestCase):
    """The log's per-kind totals and first entries as the containment flood prints them."""

    def test_totals_and_firsts(self):
        run = vbhlog.parse("VBH-METRIC logtotal.msr_denied 311 events\n"
                           "VBH-INFO log-first seq=16 kind=msr_denied addr=0xc0010114 info=0x118\n"
                           "VBH-INFO something else\n")
        self.assertEqual(vbhlog.log_totals(run), {"msr_denied": 311})
        self.assertEqual(vbhlog.log_firsts(run),
                         [{"seq": "16", "kind": "msr_denied", "addr": "0xc0010114", "info": "0x118"}])


class NestedSectionTest(unittest.TestCase):
    """The nested-SVM section from an svm-e2e log: ratios of the same boot, the exit
    counts, and n/a (not a crash, not a made-up number) for what the log lacks."""

    LOG = ("VBH-METRIC vmm_bare_cpuid_exit_ns 100000.0 ns\n"
           "VBH-METRIC vmm_vbh_cpuid_exit_ns 450000.0 ns\n"
           "VBH-METRIC vmm_bare_pio_exit_ns 150000.0 ns\n"
           "VBH-METRIC vmm_vbh_pio_exit_ns 1200000.0 ns\n"
           "VBH-METRIC vmm_vbh_npt_cpuid_exit_ns 300000.0 ns\n"
           "VBH-METRIC nested_host_exits_per_l2_exit 6.00 exits\n"
           "VBH-METRIC nested_vbh_exits_per_l2_exit 7.10 exits\n")

    def section(self, text):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "svm_e2e-smp2.log")
            with open(path, "w") as f:
                f.write(text)
            return nested.section(path)

    def test_ratios_and_counts(self):
        md = self.section(self.LOG)
        self.assertIn("| cpuid | CPUID in the L2 (KVM emulates it) | npt=0 (L2 on vbh's host NPT) "
                      "| 100000 | 450000 | 4.50 | yes |", md)
        self.assertIn("| npt=1 (vbh's shadow NPT) | 100000 | 300000 | 3.00 | yes |", md)
        self.assertIn("| npt=0 (L2 on vbh's host NPT) | 150000 | 1200000 | 8.00 | no |", md)
        self.assertIn("| npt=1 (vbh's shadow NPT) | 150000 | n/a | n/a | n/a |", md)
        self.assertIn("| nested_host_exits_per_l2_exit |", md)
        self.assertIn("| 6.00 |", md)
        self.assertIn("| 7.10 |", md)
        self.assertEqual(check.tables(md)[0][1][5], "ratio (x)")
        for t in check.tables(md):
            self.assertEqual(check.check_table("nested", t[1], t[2]), [])

    def test_missing_figures_are_na(self):
        md = self.section("VBH-METRIC vmm_bare_cpuid_exit_ns 100000.0 ns\n")
        self.assertIn("| cpuid | CPUID in the L2 (KVM emulates it) | npt=0 (L2 on vbh's host NPT) "
                      "| 100000 | n/a | n/a | n/a |", md)
        self.assertIn("| nested_vbh_exits_per_l2_exit | all of vbh's #VMEXITs per L2 exit "
                      "(those + the L2's own) | n/a |", md)

    def test_no_log(self):
        self.assertTrue(nested.section(None).startswith("n/a: no svm-e2e log"))
        self.assertTrue(nested.section("/nonexistent/svm.log").startswith("n/a: cannot read"))


if __name__ == "__main__":
    unittest.main()
