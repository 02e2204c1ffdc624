#!/bin/sh
# The vbhctl binary on a machine without vbh: every command that needs the
# hypervisor says it is not loaded (exit 3); bad usage exits 2 with the usage text.
# Exit 77 (ctest: skipped) where /dev/vbh exists, since the answers differ there.
set -u
bin=$1
[ -e /dev/vbh ] && { echo "/dev/vbh exists: not a not-loaded machine"; exit 77; }
fail=0
expect() { # code pattern args...
    want=$1 pat=$2; shift 2
    out=$("$bin" "$@" 2>&1); rc=$?
    if [ "$rc" != "$want" ] || ! printf '%s' "$out" | grep -q -- "$pat"; then
        echo "FAIL: vbhctl $*: rc=$rc (want $want), output: $out"; fail=1
    else
        echo "ok: vbhctl $* -> $rc"
    fi
}
for cmd in status version stats "stats --json" cycles "cycles --json" log "log --follow --count 1" ranges bench \
           "hypercall version"; do
    # shellcheck disable=SC2086
    expect 3 "vbhctl: error: vbh is not loaded: /dev/vbh missing" $cmd
done
expect 2 "Usage" frobnicate
expect 2 "Usage"
expect 2 "Usage" bench --iterations 0
expect 2 "Usage" hypercall version 1 2 3 4 5
expect 0 "Subcommands" --help
# Static: no program interpreter (binutils' readelf), so it runs in a busybox initramfs.
if readelf -l "$bin" | grep -q INTERP; then echo "FAIL: $bin is dynamically linked"; fail=1
else echo "ok: static"; fi
exit $fail
