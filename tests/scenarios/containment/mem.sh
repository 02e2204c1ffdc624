# shellcheck shell=dash
# Attack 1 (mappings), 5/6 (races, scrub) and 12 (CPU hotplug) of docs/containment.md.
# Globals from containment.sh: C (control frame), S/SECRET (secret), H (hypervisor
# frame), R (race frames), L/G (TOCTOU list and good frame), DOM/DOM2, HSEED.

PATHS="dmap memremap pte gib"

# Bare: each mapping path reads and writes the control frame C.
maps_bare() {
  local p r want
  for p in $PATHS; do
    ATTEMPT="$p read of a host frame" DEFENCE="none (no vbh loaded)"
    atk fill "$C" 1 0xc0 > /dev/null
    want=$(kv hash "$(atk hash "$C" 1)")
    r=$(atk "${p}_read" "$C")
    if [ "$(res "$r")" = unsupported ]; then record "${p}_read" n/a "$(one "$r")"; continue; fi
    [ "$(res "$r")" = read ] && [ "$(kv hash "$r")" = "$want" ] && ok=yes || ok=no
    prove "${p}_read" $ok "$(one "$r") want=$want"
    ATTEMPT="$p write to a host frame"
    r=$(atk "${p}_write" "$C")
    [ "$(res "$r")" = landed ] && ok=yes || ok=no
    prove "${p}_write" $ok "$(one "$r")"
  done
  devmem_bare
}

devmem_bare() {
  local err
  ATTEMPT="/dev/mem read (user space)" DEFENCE="none (no vbh loaded)"
  if err=$(dd if=/dev/mem of=/tmp/vbh/devmem bs=4096 skip=$((C)) count=1 2>&1) &&
     [ "$(wc -c < /tmp/vbh/devmem)" = 4096 ]; then
    prove devmem_read yes "read 4096 bytes of pfn $C"
  else
    record devmem_read n/a "refused by host policy (CONFIG_STRICT_DEVMEM), not by vbh: $err"
  fi
}

# vbh: every path against the secret (read and write) and the hypervisor frame (read).
maps_vbh() {
  local p r blocked
  for p in $PATHS; do
    for target in secret hyp; do
      for op in read write; do
        [ $target = hyp ] && [ $op = write ] && continue
        pfn=$S; [ $target = hyp ] && pfn=$H
        name=${p}_$op; [ $target = hyp ] && name=hyp_${p}_$op
        ATTEMPT="$p $op of the $target frame" DEFENCE="frame absent from host NPT"
        log_mark
        r=$(atk @0 "${p}_$op" "$pfn")
        case $(res "$r") in
          unsupported) record "$name" n/a "$(one "$r")"; continue ;;
          fault|refused|not_landed) blocked=yes ;;
          *) blocked=no ;;
        esac
        judge $name ${p}_$op $blocked "$(one "$r")" "$(logged npf "$pfn")"
      done
    done
  done
  ATTEMPT="/dev/mem read (user space)" DEFENCE="frame absent from host NPT"
  if proven devmem_read; then
    log_mark
    if dd if=/dev/mem of=/tmp/vbh/devmem bs=4096 skip=$((S)) count=1 2>/dev/null; then
      judge devmem_read devmem_read no "read pfn $S through /dev/mem"
    else judge devmem_read devmem_read yes "read of pfn $S refused" "$(logged npf "$S")"; fi
  else
    record devmem_read n/a "refused by host policy (CONFIG_STRICT_DEVMEM) even without vbh"
  fi
}

# Race detector proof: the "hypervisor" is the host writing a secret; the reader must see it.
races_bare() {
  local r
  ATTEMPT="CPU0 donate/fill/reclaim vs CPU1 racing + reading" DEFENCE="none (simulated)"
  atk fill "$R" 2 "$HSEED" > /dev/null
  r=$(atk @0 race_sim "$R" 2 200 "$HSEED")
  [ "$(kv leaks "$r")" -gt 0 ] 2>/dev/null && ok=yes || ok=no
  prove race $ok "$(one "$r")"
  ATTEMPT="flip a DONATE_LIST entry during the call" DEFENCE="none (double-fetch consumer)"
  r=$(atk @0 toctou_sim "$LST" "$G" "$C" 3000)
  [ "$(kv won "$r")" -gt 0 ] 2>/dev/null && ok=yes || ok=no
  prove toctou $ok "$(one "$r")"
}

races_vbh() {
  local r b
  ATTEMPT="CPU0 donate/fill/reclaim vs CPU1 racing + reading"
  DEFENCE="lock order, cross-CPU flush, scrub"
  atk fill "$R" 2 "$HSEED" > /dev/null
  log_mark
  r=$(atk @0 race "$R" 2 "$DOM2" 300 "$HSEED")
  b=no
  [ "$(kv leaks "$r")" = 0 ] && [ "$(kv other "$r")" = 0 ] && [ "$(kv traps "$r")" = 0 ] &&
    [ "$(kv ok "$r")" -gt 0 ] 2>/dev/null && b=yes
  ev=no; [ "$(kv faults "$r")" -gt 0 ] 2>/dev/null && [ "$(logged npf)" = yes ] && ev=yes
  judge race race $b "$(one "$r")" $ev
  for bad in hyp secret; do
    pfn=$H; [ $bad = secret ] && pfn=$S
    ATTEMPT="flip DONATE_LIST entry to the $bad frame" DEFENCE="copy in, then validate once"
    r=$(atk @0 toctou "$LST" "$G" "$pfn" "$DOM2" 5000)
    b=no
    [ "$(kv won "$r")" = 0 ] && [ "$(kv stuck "$r")" = 0 ] && [ "$(kv other "$r")" = 0 ] && b=yes
    ev=no; [ "$(kv ok "$r")" -gt 0 ] 2>/dev/null && [ "$(kv e_state "$r")" -gt 0 ] && ev=status
    judge toctou_$bad toctou $b "$(one "$r")" $ev
  done
}

# Threat 6: frames of a destroyed domain come back scrubbed. Every step the verdict
# relies on is checked: the domain exists, the frames were donated and filled with a
# non-zero pattern (TEST_HASH in the domain differs from the hash of zeroed frames),
# and the destroy succeeded; otherwise "zero after destroy" would prove nothing.
scrub_vbh() {
  local d c f h x r zero why=
  ATTEMPT="read frames after DOMAIN_DESTROY" DEFENCE="scrub on reclaim/destroy"
  zero=$(kv hash "$(atk hash "$Z" 2)")
  r=$(atk hc 0x10 1 0 0 0); c=$(kv status "$r"); d=$(kv out0 "$r")
  [ "$c" = 0 ] || why="$why create=$c"
  x=$(kv status "$(atk hc 0x22 "$R" 2 "$d" 0)")
  [ "$x" = 0 ] || why="$why donate=$x"
  f=$(kv status "$(atk hc 0x30 "$d" "$R" 2 0x5c)")
  [ "$f" = 0 ] || why="$why fill=$f"
  h=$(kv out0 "$(atk hc 0x31 "$d" "$R" 2 0)")
  [ -n "$h" ] && [ "$h" != "$zero" ] || why="$why filled_hash=${h:-none}=zero"
  x=$(kv status "$(atk hc 0x11 "$d" 0 0 0)")
  [ "$x" = 0 ] || why="$why destroy=$x"
  r=$(atk hash "$R" 2)
  if [ -n "$why" ]; then
    record scrub_on_destroy unproven "a step failed:$why; then $(one "$r")"
    return
  fi
  [ "$(res "$r")" = read ] && [ "$(kv hash "$r")" = "$zero" ] && b=yes || b=no
  judge scrub_on_destroy dmap_read $b "dom $d filled (hash $h), destroyed: $(one "$r") zero=$zero" status
}

hotplug() { # hotplug MODE: cycle CPU 1, then attack from it
  local r cpu=/sys/devices/system/cpu/cpu1/online
  ATTEMPT="CPU1 offline/online, attack from CPU1"
  DEFENCE="none (no vbh loaded)"; [ "$1" = bare ] || DEFENCE="re-launch before host code runs"
  if [ ! -w $cpu ]; then record hotplug n/a "no $cpu"; return; fi
  echo 0 > $cpu && sleep 1 && echo 1 > $cpu && sleep 1
  if [ "$(cat $cpu)" != 1 ]; then
    record hotplug unproven "CPU1 did not come back: $(dmesg | grep -E 'vbh|smpboot' | tail -n2)"
    return
  fi
  if [ "$1" = bare ]; then
    r=$(atk @1 dmap_read "$C")
    [ "$(res "$r")" = read ] && ok=yes || ok=no
    prove hotplug $ok "$(one "$r")"
    return
  fi
  log_mark
  local seq=$LOG_SEQ
  r="$(atk @1 hc 0 0 0 0 0) / $(atk @1 dmap_read "$S")"
  info "hotplug: secret $S, log since mark: $(one "$(atk log "$seq")")"
  b=no
  case $r in *"status=0 "*"result=fault"*) b=yes ;; esac
  judge hotplug hotplug $b "$(one "$r") status: $(cat /sys/kernel/vbh/status)" \
    "$(logged npf "$S")"
}
