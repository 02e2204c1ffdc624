# shellcheck shell=dash
# boot: --smp 2 --timeout 300 --append no_timer_check
# The product has no test hooks (vbh/core/include/vbh/test_hooks.hpp, docs/hypercalls.md):
# the production loader /lib/vbh/vbh.ko, embedding vbh.bin, is loaded with attackable=1
# (which it does not know: Linux ignores it with a warning) and then
#   - TEST_FILL (0x30) and TEST_HASH (0x31) answer VBH_E_UNKNOWN_CALL (1), with the
#     arguments a test image would accept (a frame donated to a domain) and with others;
#   - DOMAIN_CREATE with VBH_DOMAIN_TEST answers VBH_E_INVALID (2) and uses no slot;
#   - no refused call changed anything: a host frame keeps its bytes, the donated frame
#     still faults for the host, and the hypervisor's frames stay unreadable (no
#     attackable mode);
#   - /sys/module/vbh/parameters/attackable does not exist.
# vbh.nohooks_ko=/lib/vbh/test/vbh.ko points the same checks at the test loader and
# vbh-test.bin: then they must FAIL (the scenario's own proof that it can).
CDIR=/lib/vbh/bin
ko=$(param nohooks_ko /lib/vbh/vbh.ko)
UNKNOWN=1 INVALID=2
[ -r "$CDIR/containment-lib.sh" ] || { fail attack_files "containment-lib.sh missing"; exit 0; }
. "$CDIR/containment-lib.sh"
load_attack || exit 0
mark=$(dmesg_mark)

# Frames: C a host frame with known bytes, D one to donate; H a hypervisor frame.
C=$(alloc 0) D=$(alloc 0)
atk fill "$C" 1 0xc0ffee > /dev/null
want=$(kv hash "$(atk hash "$C" 1)")
if ! out=$(insmod "$ko" attackable=1 2>&1); then fail insmod_vbh "$ko: $out"; exit 0; fi
check_status vbh_status /sys/kernel/vbh/status
info "loaded $ko: $(dmesg_since "$mark" | grep -o 'image [^ ]* [0-9]* KiB.*' | head -n1)"
h=$(head -n1 /sys/kernel/vbh/hyp_ranges)
H=$(hpfn $((0x${h%%-*} >> 12)))

expect_dmesg attackable_unknown "vbh: unknown parameter 'attackable' ignored" "$mark"
if [ -e /sys/module/vbh/parameters/attackable ]; then
  fail no_attackable_param "/sys/module/vbh/parameters/attackable exists"
else
  pass no_attackable_param "the loader has no attackable= ($(ls /sys/module/vbh/parameters | tr '\n' ' '))"
fi

st() { kv status "$(atk hc "$@")"; }  # st NR A0 A1 A2 A3: the status of one hypercall
dom=$(kv out0 "$(atk hc 0x10 0 0 0 0)")
same donate_to_plain_domain 0 "$(st 0x22 "$D" 1 "$dom" 0)"
same domain_create_test_flag "$INVALID" "$(st 0x10 1 0 0 0)"
next=$(kv out0 "$(atk hc 0x10 0 0 0 0)")
same test_flag_used_no_slot "$((dom + 1))" "$((next))"

got=
for args in "0x30 $dom $D 1 0x5eed" "0x31 $dom $D 1 0" "0x30 $dom $C 1 7" "0x31 $dom $H 1 0" \
            "0x30 0 0 0 0" "0x31 0 0 0 0" "0x30 99 0xffffffffffffffff 2 0"; do
  # shellcheck disable=SC2086
  got="$got $(st $args)"
done
same test_calls_unknown " $UNKNOWN $UNKNOWN $UNKNOWN $UNKNOWN $UNKNOWN $UNKNOWN $UNKNOWN" "$got"

# Nothing changed: C's bytes, D still the domain's, the hypervisor frame hidden.
same host_frame_unchanged "$want" "$(kv hash "$(atk hash "$C" 1)")"
r=$(atk @0 dmap_read "$D")
same donated_frame_hidden fault "$(res "$r")"
r=$(atk @0 dmap_read "$H")
same hyp_frame_hidden_despite_attackable fault "$(res "$r")"
same reclaim_after 0 "$(st 0x23 "$D" 1 "$dom" 0)"
same hypervisor_alive "status=0 out0=0x1" \
  "$(atk hc 0 0 0 0 0 | grep -o 'status=[0-9]* out0=[0-9a-fx]*')"
dmesg_clean kernel_log_clean "$mark"
