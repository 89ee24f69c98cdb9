# worker_env.bash: helpers and checks shared by the worker integration tests
# (sourced by content_service.sh and cf_service.sh; not a test itself). The
# caller defines $bin, $tmp (its private directory), the array pids, fail(),
# and $worker (the binary under test: recsys-content or recsys-cf).

# ---- server helpers
# start NAME ARGS...: starts "$worker serve" with a log in $tmp/NAME.log and
# sets $pid; wait_loaded reads the rpc URL and admin port back from the log.
start() {
  local name=$1; shift
  "$bin/$worker" serve --listen tcp://127.0.0.1:0 --admin-port 0 "$@" 2> "$tmp/$name.log" &
  pid=$!
  pids+=("$pid")
}
wait_loaded() { # wait_loaded NAME: sets $url and $admin
  local log=$tmp/$1.log
  for _ in $(seq 1 600); do
    grep -q '"model loaded"' "$log" 2> /dev/null && break
    kill -0 "$pid" 2> /dev/null || fail "$1 exited before loading"
    sleep 0.1
  done
  grep -q '"model loaded"' "$log" || fail "$1: no model after 60 s"
  url=$(jq -r 'select(.msg == "listening") | .rpc' "$log")
  admin=$(jq -r 'select(.msg == "listening") | .admin_port' "$log")
  [ -n "$url" ] && [ -n "$admin" ] || fail "$1: no listening line"
}
rpc() { "$bin/recsys-rpc" --url "$url" --timeout-ms 10000 "$@"; }
stop() { # stop NAME: SIGTERM, exit status 0 and a drain logged
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM"
  grep -q '"rpc server drained"' "$tmp/$1.log" || fail "$1: no drain logged"
}

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

code_of() { jq -r '.error.code' "$1"; }

# expect_error CODE REQUEST_JSON...: each request fails with exit status 1 and
# WORKER_ERROR_CODE_<CODE>.
expect_error() {
  local code=$1 bad rc
  shift
  for bad in "$@"; do
    rc=0; rpc "$bad" > "$tmp/e.json" || rc=$?
    [ $rc -eq 1 ] && [ "$(code_of "$tmp/e.json")" = "WORKER_ERROR_CODE_$code" ] ||
      fail "$bad: rc $rc $(cat "$tmp/e.json")"
  done
}

# expect_malformed_refused: bytes that are no WorkerRequest get
# INVALID_ARGUMENT "malformed request".
expect_malformed_refused() {
  local hex rc
  for hex in ffffffff 0a 0aff08; do
    rc=0; rpc --raw-hex "$hex" > "$tmp/e.json" || rc=$?
    [ $rc -eq 1 ] && [ "$(code_of "$tmp/e.json")" = WORKER_ERROR_CODE_INVALID_ARGUMENT ] ||
      fail "raw $hex: rc $rc $(cat "$tmp/e.json")"
  done
  grep -q "malformed request" "$tmp/e.json" || fail "malformed: $(cat "$tmp/e.json")"
}

# expect_over_limit TEMPLATE BIG_REPLY_REQUEST: with 4 KiB messages, TEMPLATE
# (a printf format with one %s) filled with 8 KiB makes recsys-rpc fail
# (exit 3: nng drops the connection), BIG_REPLY_REQUEST is answered
# RESOURCE_EXHAUSTED, and the server ($pid) still answers after both.
expect_over_limit() {
  local rc
  printf "$1" "$(head -c 8192 /dev/zero | tr '\0' x)" > "$tmp/big.json"
  rc=0; "$bin/recsys-rpc" --url "$url" --timeout-ms 1500 @"$tmp/big.json" > /dev/null 2> "$tmp/big.err" || rc=$?
  [ $rc -eq 3 ] || fail "over-limit request: rc $rc $(cat "$tmp/big.err")"
  rc=0; rpc "$2" > "$tmp/e.json" || rc=$?
  [ $rc -eq 1 ] && [ "$(code_of "$tmp/e.json")" = WORKER_ERROR_CODE_RESOURCE_EXHAUSTED ] ||
    fail "over-limit reply: rc $rc $(cat "$tmp/e.json")"
  rpc '{"info":{}}' > /dev/null || fail "server unusable after over-limit messages"
  kill -0 "$pid" || fail "server died"
  echo "ok: over-limit request and reply"
}
