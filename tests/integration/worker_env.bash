# worker_env.bash: checks shared by the worker integration tests (sourced by
# content_service.sh and cf_service.sh; not a test itself). The caller
# defines $tmp (its private directory) and fail().

# refuse_corrupt_models BINARY MODEL: a truncated copy of MODEL and a copy
# with one byte flipped two thirds in make `BINARY serve --model` exit 1 with
# a "model load failed" line naming the file; with neither --model nor
# --data, serve exits 2 and says to give --model.
refuse_corrupt_models() {
  local binary=$1 model=$2 size off byte bad rc
  size=$(stat -c %s "$model")
  cp "$model" "$tmp/trunc.model"
  truncate -s $((size / 2)) "$tmp/trunc.model"
  cp "$model" "$tmp/flip.model"
  off=$((size * 2 / 3))
  byte=$(od -An -tu1 -j "$off" -N1 "$tmp/flip.model" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 0x5a)))" | dd of="$tmp/flip.model" bs=1 seek="$off" conv=notrunc 2> /dev/null
  for bad in trunc flip; do
    rc=0
    timeout 60 "$binary" serve --model "$tmp/$bad.model" --listen tcp://127.0.0.1:0 --admin-port 0 \
      2> "$tmp/$bad.log" || rc=$?
    [ $rc -eq 1 ] || fail "$bad.model: exit status $rc, want 1"
    grep '"model load failed"' "$tmp/$bad.log" | grep -q "$tmp/$bad.model" ||
      fail "$bad.model: message does not name the file: $(cat "$tmp/$bad.log")"
    echo "ok: $bad.model refused: $(jq -r 'select(.msg == "model load failed") | .error' "$tmp/$bad.log")"
  done
  rc=0
  "$binary" serve --listen tcp://127.0.0.1:0 2> "$tmp/none.log" || rc=$?
  [ $rc -eq 2 ] && grep -q -- "--model" "$tmp/none.log" || fail "no model or data: rc $rc $(cat "$tmp/none.log")"
}
