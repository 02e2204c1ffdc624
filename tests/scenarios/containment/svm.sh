# shellcheck shell=dash
# Attacks 7 and 8 of docs/containment.md: SVM MSRs and instructions from the host.
# Bare: against the control frame C, with EFER.SVME set by the module. vbh: against
# the secret S; evidence is a log entry (msr_denied, virt_insn) or a moved exit counter.

# vcount KIND: exits of KIND on CPU 0 so far (the attacks run on CPU 0).
vcount() { kv "exit_$1" "$(atk @0 stats 0)"; }

svm_bare() {
  local r old
  DEFENCE="none (no vbh loaded)"
  ATTEMPT="clear EFER.SVME"
  r=$(atk @0 efer_clear); [ "$(res "$r")" = landed ] && ok=yes || ok=no
  prove efer_clear $ok "$(one "$r")"
  ATTEMPT="VM_HSAVE_PA := target frame"
  r=$(atk @0 hsave_write "$C"); [ "$(res "$r")" = landed ] && ok=yes || ok=no
  prove hsave_write $ok "$(one "$r")"
  ATTEMPT="set VM_CR.SVMDIS"
  old=$(kv value "$(atk @0 msr_read 0xc0010114)")
  r=$(atk @0 vmcr_write $((${old:-0} | 0x10)))
  case $(res "$r") in
    landed) prove vmcr_write yes "$(one "$r")" ;;
    not_landed) record vmcr_write n/a "this CPU ignores VM_CR writes even without vbh: $(one "$r")" ;;
    *) prove vmcr_write no "$(one "$r")" ;;
  esac
  ATTEMPT="VMRUN crafted VMCB, NPT off"
  atk fill "$C" 1 0xc1 > /dev/null
  r=$(atk @0 vmrun "$C")
  [ "$(res "$r")" = ran ] && [ "$(kv word "$r")" = "$(kv expect "$r")" ] && ok=yes || ok=no
  prove vmrun $ok "$(one "$r")"
  ATTEMPT="VMLOAD from target frame"
  r=$(atk @0 vmload "$C")
  [ "$(res "$r")" = loaded ] && [ "$(kv match "$r")" = yes ] && ok=yes || ok=no
  # the way back vbh needs (VMSAVE refused): restore from the hand-built image, then
  # the CPU must still work (the next commands run on it)
  r="$r / $(atk @0 vmload_byhand "$C") / $(atk @0 hash "$C" 1)"
  case $r in *"saved=by_hand result=loaded"*"match=yes"*"result=read"*) ;; *) ok=no ;; esac
  prove vmload $ok "$(one "$r")"
  ATTEMPT="VMSAVE into target frame"
  r=$(atk @0 vmsave "$C")
  [ "$(res "$r")" = executed ] && [ "$(kv landed "$r")" = yes ] && ok=yes || ok=no
  prove vmsave $ok "$(one "$r")"
  ATTEMPT="CLGI/STGI"
  r=$(atk @0 clgi); [ "$(res "$r")" = executed ] && ok=yes || ok=no
  prove clgi $ok "$(one "$r")"
  ATTEMPT="SKINIT"
  r=$(atk @0 skinit "$C")
  case $(res "$r") in
    executed) prove skinit yes "$(one "$r")" ;;
    *) record skinit n/a "the CPU refuses SKINIT even without vbh (QEMU TCG: #UD): $(one "$r")" ;;
  esac
}

# svm_one NAME CMD ARGS...: run one attack on CPU 0 under vbh and judge it. A fault,
# or a write that did not land, is blocked. Evidence: a log entry, a moved SVM
# instruction counter (only SVM instructions move it), or exits=N>0 that the module
# measured around the single WRMSR/CLGI with interrupts off.
svm_one() {
  local name=$1 r v0 b=no ev=no; shift
  log_mark
  v0=$(vcount virt_insn)
  r=$(atk @0 "$@")
  case $(res "$r") in fault|not_landed) b=yes ;; esac
  if [ "$(logged msr_denied)" = yes ] || [ "$(logged virt_insn)" = yes ]; then ev=yes
  elif [ "$(vcount virt_insn)" != "$v0" ]; then ev=yes
  elif [ "$(kv exits "$r")" -gt 0 ] 2>/dev/null; then ev=yes; fi
  # An MSR write or CLGI that vbh intercepted and emulated looks "landed" from inside
  # (the host sees a shadow value); the exit it caused shows it never hit the CPU.
  case $name in efer_clear|hsave_write|vmcr_write|clgi)
    [ "$(kv exits "$r")" -gt 0 ] 2>/dev/null && b=yes ;;
  # Nested SVM checks the crafted VMCB (docs/nested.md): refused with VMEXIT_INVALID
  # ("exited" before the stub's read), or run under vbh's NPT, where the read fails.
  vmrun)
    case $(res "$r") in
      exited) b=yes ;;
      ran) [ "$(kv word "$r")" != "$(kv expect "$r")" ] && b=yes ;;
    esac ;;
  esac
  judge "$name" "$name" $b "$(one "$r")" $ev
}

svm_vbh() {
  local old
  DEFENCE="intercepted: refused or emulated"
  ATTEMPT="clear EFER.SVME"; svm_one efer_clear efer_clear
  ATTEMPT="VM_HSAVE_PA := secret frame"; svm_one hsave_write hsave_write "$S"
  ATTEMPT="set VM_CR.SVMDIS"
  if proven vmcr_write; then
    old=$(kv value "$(atk @0 msr_read 0xc0010114)")
    svm_one vmcr_write vmcr_write $((${old:-0} | 0x10))
  else record vmcr_write n/a "no defence-off success on this CPU (writes ignored)"; fi
  DEFENCE="VMRUN intercepted: VMCB copied and checked (nested SVM), never used in place"
  ATTEMPT="VMRUN crafted VMCB, NPT off"; svm_one vmrun vmrun "$S"
  DEFENCE="emulated on host RAM only: #GP, frame never touched"
  ATTEMPT="VMLOAD from secret frame"; svm_one vmload vmload "$S"
  ATTEMPT="VMSAVE into secret frame"; svm_one vmsave vmsave "$S"
  DEFENCE="intercepted: refused or emulated"
  ATTEMPT="CLGI/STGI"; svm_one clgi clgi
  ATTEMPT="SKINIT"
  if proven skinit; then svm_one skinit skinit "$S"
  else record skinit n/a "the CPU refuses SKINIT even without vbh (QEMU TCG: #UD)"; fi
}
