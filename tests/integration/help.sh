#!/usr/bin/env bash
# Every binary documents itself: `--help` exits 0 and lists each option with
# its RECSYS_* variable and default; an unknown option exits non-zero with a
# message naming it. A binary with subcommands (its --help has a "Commands:"
# section) is checked the same way for every command: `bin CMD --help`.
set -euo pipefail
bin=${RECSYS_BIN_DIR:?RECSYS_BIN_DIR not set}

# check_help LABEL HELP_TEXT: the option listing rules.
check_help() {
  local label=$1 out=$2 opts
  grep -q "^Usage: " <<<"$out" || { echo "FAIL: $label --help has no Usage line"; exit 1; }
  opts=$(echo "$out" | grep -cE '^  --[a-z0-9-]+=[A-Z]+  \(RECSYS_[A-Z0-9_]+, default: ' || true)
  [ "$opts" -ge 1 ] || { echo "FAIL: $label --help lists no options with defaults"; exit 1; }
  grep -q 'RECSYS_LOG_LEVEL' <<<"$out" || { echo "FAIL: $label --help lacks --log-level"; exit 1; }
  echo "ok: $label ($opts options)"
}

# check_unknown CMD...: an unknown option is refused and named.
check_unknown() {
  local err
  if err=$("$@" --no-such-option 2>&1); then
    echo "FAIL: $* accepted --no-such-option"; exit 1
  fi
  grep -q -- '--no-such-option' <<<"$err" || { echo "FAIL: $* error does not name the option: $err"; exit 1; }
}

n=0
for b in "$bin"/recsys-*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  out=$("$b" --help) || { echo "FAIL: $name --help exited $?"; exit 1; }
  if grep -q "^Commands:" <<<"$out"; then
    cmds=$(echo "$out" | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
    [ -n "$cmds" ] || { echo "FAIL: $name lists no commands"; exit 1; }
    for c in $cmds; do
      sub=$("$b" "$c" --help) || { echo "FAIL: $name $c --help exited $?"; exit 1; }
      check_help "$name $c" "$sub"
      check_unknown "$b" "$c"
    done
  else
    check_help "$name" "$out"
    check_unknown "$b"
  fi
  n=$((n + 1))
done
if [ $n = 0 ]; then echo "SKIP: no binaries in $bin yet"; exit 77; fi
