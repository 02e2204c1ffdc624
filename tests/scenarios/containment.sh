# shellcheck shell=dash
# boot: --cpu EPYC,+svm,+npt --smp 2 --timeout 900 --append no_timer_check --qemu -device --qemu edu,dma_mask=0xffffffffffff
# Containment suite (docs/containment.md): vbh_attack.ko, a hostile host kernel,
# attacks vbh. Every boot first proves each harness with no vbh loaded (against a host
# frame nobody defends); then, with vbh.containment=vbh, loads vbh.ko and repeats each
# attack against a TEST-domain secret and a hypervisor frame, and prints a scoreboard.
# vbh is the test loader /lib/vbh/test/vbh.ko with the test image vbh-test.bin: the suite
# needs its TEST_* calls (the product refuses them: tests/scenarios/nohooks.sh).
#   vbh.containment=bare   harness proofs only (no vbh.ko needed)
#   vbh.containment=vbh    the full suite (default when the test loader exists)
# Helpers: /lib/vbh/bin/containment-*.sh and vbh_ring3 (tests/containment/build.sh).
CDIR=/lib/vbh/bin
ko=/lib/vbh/test/vbh.ko
IMAGE="none (bare kernel)"
mode=$(param containment auto)
[ "$mode" = auto ] && { if [ -r $ko ]; then mode=vbh; else mode=bare; fi; }
for f in lib mem svm hc kinds dma msr nested msi; do
  f=$CDIR/containment-$f.sh
  [ -r "$f" ] || { fail containment_files "$f missing from the initramfs"; exit 0; }
  . "$f"
done
PATH=$PATH:$CDIR
info "containment mode $mode"

load_attack || exit 0
C=$(alloc 0) S=$(alloc 1) R=$(alloc 1) LST=$(alloc 0) G=$(alloc 0) Z=$(alloc 1)
SECRET=$S SECRET_N=2 HSEED=0x4a5
info "frames: control $C secret $S race $R list $LST good $G zero $Z"
mark=$(dmesg_mark)

# --- phase 1: the same harnesses with the defence off (no vbh loaded yet) ------------
BOARD=/tmp/vbh/containment.bare
: > "$BOARD"; : > "$CTRL"
maps_bare
svm_bare
races_bare
hotplug bare
dma_bare
msr_bare
nest_bare
msi_bare
if [ "$mode" = bare ]; then
  ATTEMPT="hostile hypercalls, TOCTOU, scrub" DEFENCE="vbh"
  record hypercalls n/a "need vbh: run with vbh.containment=vbh"
  scoreboard bare
  dmesg_clean kernel_log_clean "$mark"
  exit 0
fi

# --- phase 2: vbh -----------------------------------------------------------------------
if ! out=$(insmod $ko 2>&1); then fail insmod_vbh "$out"; scoreboard bare; exit 0; fi
check_status vbh_status /sys/kernel/vbh/status
IMAGE=$(image_under_attack "$ko")
use_out_frame || fail out_frame "no 'vbh: output frame pfn' line in dmesg"
info "containment attacks $IMAGE"
case $IMAGE in *"TEST_* answered"*) ;; *) fail test_image "not the test image: $IMAGE"; scoreboard bare; exit 0 ;; esac
h=$(head -n1 /sys/kernel/vbh/hyp_ranges 2>/dev/null)
[ -n "$h" ] || { fail hyp_ranges "no range in /sys/kernel/vbh/hyp_ranges"; scoreboard bare; exit 0; }
H=$(printf '0x%x' $((0x${h%%-*} >> 12)))
DOM=$(kv out0 "$(atk hc 0x10 1 0 0 0)") DOM2=$(kv out0 "$(atk hc 0x10 1 0 0 0)")
r="$(atk hc 0x22 "$S" 2 "$DOM" 0) $(atk hc 0x30 "$DOM" "$S" 2 0x5ec7e7)"
SECRET_HASH=$(secret_hash)
info "hyp frame $H, test domains $DOM $DOM2, secret hash $SECRET_HASH ($(one "$r"))"
case $r in *"status=0 "*"status=0 "*) ;; *) fail secret_setup "$(one "$r")" ;; esac

BOARD=/tmp/vbh/containment.board
: > "$BOARD"
hc_control
maps_vbh
svm_vbh
hc_vbh
races_vbh
scrub_vbh
kinds_vbh
hotplug vbh
dma_vbh
msr_vbh
nest_vbh
msi_vbh_vtd
if alive; then pass hypervisor_alive "VBH_HC_VERSION answers on every online CPU after the suite"
else fail hypervisor_alive "VBH_HC_VERSION does not answer on$ALIVE_WHY"; fi
same secret_hash "$SECRET_HASH" "$(secret_hash)"
info "hypervisor CPU 0 counters: $(one "$(atk stats 0)")"
scoreboard vbh
dmesg_clean kernel_log_clean "$mark"
