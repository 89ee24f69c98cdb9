#!/usr/bin/env bash
# Every binary documents itself: `--help` exits 0 and lists each option with
# its RECSYS_* variable and default; an unknown option exits non-zero with a
# message naming it.
set -euo pipefail
bin=${RECSYS_BIN_DIR:?RECSYS_BIN_DIR not set}
n=0
for b in "$bin"/recsys-*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  out=$("$b" --help) || { echo "FAIL: $name --help exited $?"; exit 1; }
  echo "$out" | grep -q "^Usage: " || { echo "FAIL: $name --help has no Usage line"; exit 1; }
  opts=$(echo "$out" | grep -cE '^  --[a-z0-9-]+=[A-Z]+  \(RECSYS_[A-Z0-9_]+, default: ' || true)
  [ "$opts" -ge 1 ] || { echo "FAIL: $name --help lists no options with defaults"; exit 1; }
  echo "$out" | grep -q 'RECSYS_LOG_LEVEL' || { echo "FAIL: $name --help lacks --log-level"; exit 1; }
  if err=$("$b" --no-such-option 2>&1); then
    echo "FAIL: $name accepted --no-such-option"; exit 1
  fi
  echo "$err" | grep -q -- '--no-such-option' || { echo "FAIL: $name error does not name the option: $err"; exit 1; }
  echo "ok: $name ($opts options)"
  n=$((n + 1))
done
if [ $n = 0 ]; then echo "SKIP: no binaries in $bin yet"; exit 77; fi
