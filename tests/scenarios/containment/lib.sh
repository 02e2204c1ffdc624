# shellcheck shell=dash
# Containment suite, guest side: talking to vbh_attack.ko, verdicts, scoreboard.
# Sourced by tests/scenarios/containment.sh after qemu-nested/guest/lib.sh
# (pass/fail/info/kv/param). Rules: docs/containment.md.

CTL=/sys/kernel/debug/vbh_attack/ctl
BOARD=/tmp/vbh/containment.board
CTRL=/tmp/vbh/containment.ctrl   # NAME|observed, one line per harness proven on bare

load_attack() { # insmod vbh_attack.ko; false after a failed attack_module check
  local ko out
  ko=$(find /lib/vbh -name vbh_attack.ko | head -n1)
  if ! out=$(insmod "$ko" 2>&1) || [ ! -w "$CTL" ]; then
    fail attack_module "insmod '$ko': $out"; return 1
  fi
}

atk() { # atk [@CPU] CMD ARGS...: run one attack command, print its key=value reply
  if echo "$*" > "$CTL" 2>/dev/null; then cat "$CTL"; else echo "result=error reason=ctl_write"; fi
}
res() { kv result "$1"; }                  # res REPLY: its result= word
one() { echo "$*" | grep -v '^cpu=[0-9]*$' | tr '\n' ' ' | sed 's/ $//'; }  # one-line reply

# --- frames --------------------------------------------------------------------------
alloc() { kv pfn "$(atk alloc "$1")"; }     # alloc ORDER: first pfn of 2^ORDER frames
hpfn() { printf '0x%x' "$1"; }

# --- the control run (no vbh) ----------------------------------------------------------
# prove NAME OUTCOME DETAIL: OUTCOME is "yes" when the harness did what the attack wants
# (read the frame, landed the write, ran the instruction) on a frame nobody defends.
prove() {
  if [ "$2" = yes ]; then
    echo "$1|$3" >> "$CTRL"
    record "harness_$1" proven "$3"
  else
    record "harness_$1" unproven "harness did not succeed without vbh: $3"
  fi
}
proven() { grep -q "^$1|" "$CTRL" 2>/dev/null; } # proven NAME: the control succeeded

# --- verdicts ----------------------------------------------------------------------------
# record NAME VERDICT OBSERVED: one scoreboard row and one VBH-CHECK (n/a rows are
# listed, never counted as passes; OPEN rows, an attack the emulator cannot block, are
# listed and counted apart, never as contained). ATTEMPT and DEFENCE come from the
# caller's globals.
record() {
  local v=$2
  echo "$1|$v|${ATTEMPT:-}|${DEFENCE:-}|$(echo "$3" | _oneline | tr '|' '/')" >> "$BOARD"
  case $v in
    proven|contained) pass "$1" "$v: $3" ;;
    n/a) info "$1 n/a: $3" ;;
    OPEN) info "$1 OPEN, not contained (the emulator's limit, docs/containment.md): $3" ;;
    *) fail "$1" "$v: $3" ;;
  esac
}

# judge NAME CONTROL BLOCKED OBSERVED [EVIDENCE]: the vbh-run verdict of one attack.
#   CONTROL   the harness whose defence-off success this verdict relies on
#   BLOCKED   yes if the attack failed (fault, refused, not landed, error status)
#   EVIDENCE  yes if the hypervisor logged/counted it, "status" when the exact error
#             status is the evidence (hypercalls), anything else: none
# contained = control proven + blocked + hypervisor alive + secret intact + evidence.
# A success against vbh is LEAKED; anything else is unproven.
judge() {
  local name=$1 ctl=$2 blocked=$3 obs=$4 ev=${5:-no} why=
  if [ "$blocked" != yes ]; then record "$name" LEAKED "$obs"; return; fi
  proven "$ctl" || why="no control: harness $ctl never succeeded with the defence off"
  alive || why="$why; hypervisor not answering VBH_HC_VERSION on$ALIVE_WHY"
  secret_intact || why="$why; secret hash changed"
  case $ev in
    yes|status) ;;
    no:*) why="$why; no evidence in the hypervisor log (${ev#no: })" ;;
    *) why="$why; no evidence: no log entry, counter or exact status for the attempt" ;;
  esac
  if [ -z "$why" ]; then record "$name" contained "$obs"
  else record "$name" unproven "$obs (${why#; })"; fi
}

# --- hypervisor state (vbh run) -------------------------------------------------------
# alive: every online CPU answers VBH_HC_VERSION from guest mode (a hypervisor that
# hangs or lost one CPU is not alive). Sets ALIVE_WHY to the CPUs that did not.
alive() {
  local c r
  ALIVE_WHY=
  for c in $(cpu_list); do
    r=$(atk @"$c" hc 0 0 0 0 0)
    [ "$(res "$r")" = returned ] && [ "$(kv status "$r")" = 0 ] || ALIVE_WHY="$ALIVE_WHY cpu$c"
  done
  [ -z "$ALIVE_WHY" ]
}
cpu_list() { # the online CPU numbers, from /sys/devices/system/cpu/online ("0-1,3")
  local part
  for part in $(tr ',' ' ' < /sys/devices/system/cpu/online); do
    case $part in *-*) seq "${part%-*}" "${part#*-}" ;; *) echo "$part" ;; esac
  done
}
secret_hash() { kv out0 "$(atk hc 0x31 "$DOM" "$SECRET" "$SECRET_N" 0)"; }
secret_intact() { [ -n "${SECRET_HASH:-}" ] && [ "$(secret_hash)" = "$SECRET_HASH" ]; }

LOG_SEQ=0
# log_mark: remember the hypervisor's next log sequence number.
log_mark() { LOG_SEQ=$(kv end "$(atk log "$LOG_SEQ")"); LOG_SEQ=${LOG_SEQ:-0}; }
# logged KIND [PFN]: yes if the log has an entry of KIND (npf, msr_denied, virt_insn)
# since log_mark, for npf one in frame PFN. Pages through the log (100 entries a read);
# entries the ring overwrote meanwhile are lost. Moves the mark past what it read.
# Otherwise prints "no: " and the kinds@addresses it read, for the verdict's detail.
logged() {
  local out hit=no line a n=100
  LOG_SEEN=
  while [ "$n" -ge 100 ]; do
    out=$(atk log "$LOG_SEQ")
    n=$(kv count "$out"); n=${n:-0}
    for line in $(echo "$out" | grep "^log " | sed 's/ /,/g'); do
      line=$(echo "$line" | tr ',' ' ')
      LOG_SEEN="$LOG_SEEN $(kv kind "$line")@$(kv addr "$line")"
      [ "$(kv kind "$line")" = "$1" ] || continue
      a=$(kv addr "$line")
      if [ -z "${2:-}" ] || [ $((a >> 12)) = $(($2)) ]; then hit=yes; fi
    done
    LOG_SEQ=$(kv next "$out"); LOG_SEQ=${LOG_SEQ:-0}
  done
  if [ $hit = yes ]; then echo yes; else echo "no: log since mark:${LOG_SEEN:- empty}" | cut -c1-160; fi
}

# image_under_attack KO: which vbh runs, for the scoreboard: the image the loader KO
# embeds (its "image NAME" kernel log line) and whether that hypervisor answers TEST_*
# (TEST_HASH of one frame of domain 0: VBH_E_NO_DOMAIN from vbh-test.bin, which checks
# the range first and then the domain; VBH_E_UNKNOWN_CALL from the product vbh.bin).
image_under_attack() {
  local name st how
  name=$(dmesg | sed -n 's/.*vbh: .* image \([^ ]*\) [0-9]* KiB.*/\1/p' | tail -n1)
  st=$(kv status "$(atk hc 0x31 0 0 1 0)")
  case $st in
    6) how="TEST_* answered" ;;
    1) how="TEST_* refused" ;;
    *) how="TEST_HASH status ${st:-none}" ;;
  esac
  echo "${name:-unknown image} via $1 ($how)"
}

# --- scoreboard ---------------------------------------------------------------------
scoreboard() { # scoreboard bare|vbh: the table of $BOARD and the summary line
  local n c l u na p o alive_txt
  echo "----- containment scoreboard ($1: $BOARD) -----"
  echo "image: ${IMAGE:-none}"
  printf '%-24s %-10s %-44s %-36s %s\n' scenario verdict attempted defence observed
  awk -F'|' '{ printf "%-24s %-10s %-44s %-36s %s\n", $1, $2, $3, $4, substr($5, 1, 100) }' "$BOARD"
  c=$(grep -c '^[^|]*|contained|' "$BOARD"); l=$(grep -c '^[^|]*|LEAKED|' "$BOARD")
  u=$(grep -c '^[^|]*|unproven|' "$BOARD"); na=$(grep -c '^[^|]*|n/a|' "$BOARD")
  p=$(grep -c '^[^|]*|proven|' "$BOARD"); o=$(grep -c '^[^|]*|OPEN|' "$BOARD")
  if [ "$1" = bare ]; then
    echo "harness proven $p/$((p + u)) on a bare kernel, unproven $u, n/a $na"
    metric containment_harness_proven "$p" scenarios
    return
  fi
  n=$((c + l + u))
  if alive; then alive_txt="hypervisor alive on every CPU"; else alive_txt="hypervisor NOT answering on$ALIVE_WHY"; fi
  echo "contained $c/$n, leaked $l, unproven $u, n/a $na, open $o, $alive_txt, image ${IMAGE:-none}"
  metric containment_contained "$c" scenarios
  metric containment_leaked "$l" scenarios
}

# use_out_frame: the module's replies (log, stats, log_summary) go to the loader's
# output frame, the only host frame vbh writes hypercall output into (boot record
# out_pfn; docs/launch.md, "Output frames"). Sets OUT_PFN from the loader's dmesg line.
OUT_PFN=
use_out_frame() {
  OUT_PFN=$(dmesg | sed -n 's/.*vbh: output frame pfn \(0x[0-9a-f]*\).*/\1/p' | tail -n1)
  [ -n "$OUT_PFN" ] && atk reply_pfn "$OUT_PFN" > /dev/null
}
