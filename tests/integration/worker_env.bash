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

# hup_under_load NAME REQUEST_JSON: HUP_CALLS (default 20000) concurrent
# calls of REQUEST_JSON through recsys-rpc while SIGHUPs go to $pid every
# 50 ms; every call must succeed, at least 3 SIGHUPs must land during the
# load and at least 2 reloads must show in /metrics ($admin). The caller
# defines $bin, $url, $pid, $admin and the array pids.
hup_under_load() {
  local name=$1 request=$2 calls=${HUP_CALLS:-20000}
  "$bin/recsys-rpc" --url "$url" --timeout-ms 10000 --repeat "$calls" --concurrency 8 \
    "$request" > "$tmp/$name-load.json" 2> "$tmp/$name-load.err" &
  local load=$!
  pids+=("$load")
  local sent=0
  sleep 0.05
  while kill -0 "$load" 2> /dev/null && [ $sent -lt 40 ]; do
    kill -HUP "$pid"; sent=$((sent + 1)); sleep 0.05
  done
  local rc=0
  wait "$load" || rc=$?
  [ $rc -eq 0 ] && jq -e ".failed == 0 and .ok == $calls" "$tmp/$name-load.json" > /dev/null ||
    fail "$name: calls failed during reloads: rc $rc $(cat "$tmp/$name-load.json" "$tmp/$name-load.err")"
  [ $sent -ge 3 ] || fail "$name: only $sent SIGHUPs landed during the load; raise HUP_CALLS"
  local reloads=0
  for _ in $(seq 1 50); do
    reloads=$(curl -s "http://127.0.0.1:$admin/metrics" | awk '/^recsys_model_reloads_total\{result="ok"\}/ {print $2}')
    [ "${reloads:-0}" -ge 2 ] && break
    sleep 0.1
  done
  [ "${reloads:-0}" -ge 2 ] || fail "$name: $reloads reloads after $sent SIGHUPs"
  echo "ok: $name: $calls calls, $sent SIGHUPs, $reloads reloads, 0 failures ($(jq -c '{p50_us,p99_us}' "$tmp/$name-load.json"))"
}
