#!/usr/bin/env bash
# gateway_faults.sh: a worker killed under load. recsys-load offers a fixed
# rate of Recommend requests (uncached: cache-ttl-ms 0) while the CF worker
# is killed and, later, the content worker too; every answer must be a 200
# (recsys-load exits 1 on any non-2xx or failed request), the degraded
# counter must grow, and once the workers are restarted the answers are
# full again (degraded false). A dead worker must be skipped at once, not
# after a deadline: the deadlines are 1 s here, and the p99 of the whole run
# (kill window included) must stay far below them (it was ~1 s when a worker
# was marked down only by its failing health poll).
set -u
source "$(dirname "$0")/gateway_env.bash"
have_workers || skip "worker binaries missing ($BIN/recsys-content, $BIN/recsys-cf)"
[ -x "$BIN/recsys-load" ] || skip "no $BIN/recsys-load"

GW_FLAGS="--cache-ttl-ms 0 --content-deadline-ms 1000 --cf-deadline-ms 1000"
P99_MAX_MS=${GATEWAY_FAULTS_P99_MAX_MS:-300}
start_redis
start_content
start_cf
start_gateway
wait_ready
B=$T/body
req $B GET "$GW/v1/users/5/recommendations?k=10" >/dev/null
has $B '"degraded":false' "full answer before the faults"

metric() { curl -s "http://127.0.0.1:$GW_ADMIN/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {print s + 0}'; }
deg0=$(metric 'recsys_gateway_degraded_total')

"$BIN/recsys-load" --port "$GW_PORT" --path '/v1/users/{n}/recommendations?k=10' --ids 600 \
    --connections 4 --rate 200 --warmup 0 --duration 5 --json >$T/load.out 2>&1 &
LOAD=$!
PIDS+=($LOAD)
sleep 1
kill -9 $CF_PID
sleep 1.5
kill -9 $CONTENT_PID
sleep 1
wait $LOAD
rc=$?
cat $T/load.out
[ $rc = 0 ] || fail "errors or non-2xx answers under load while workers died: $(cat $T/load.out)"
p99=$(sed -n 's/.*"p99_ms":\([0-9.]*\).*/\1/p' $T/load.out)
[ -n "$p99" ] || fail "no p99 in: $(cat $T/load.out)"
awk -v p="$p99" -v m="$P99_MAX_MS" 'BEGIN { exit !(p < m) }' ||
    fail "p99 ${p99} ms while workers died (limit ${P99_MAX_MS} ms, deadlines 1000 ms): dead workers not skipped at once"
deg1=$(metric 'recsys_gateway_degraded_total')
[ "$deg1" -gt "$deg0" ] || fail "no degraded answers counted ($deg0 -> $deg1)"
req $B GET "$GW/v1/users/5/recommendations?k=10" >/dev/null
has $B 'answered from popularity' "both down: popularity"
ok "workers killed under load: only 200s, p99 ${p99} ms, $((deg1 - deg0)) degraded answers, popularity when both are down"

start_cf
start_content
wait_ready
for _ in $(seq 50); do
    req $B GET "$GW/v1/users/5/recommendations?k=10" >/dev/null
    grep -q '"degraded":false' $B && break
    sleep 0.1
done
has $B '"degraded":false' "full answers after the restart"
"$BIN/recsys-load" --port "$GW_PORT" --connections 4 --rate 200 --warmup 0 --duration 1 >$T/load2.out 2>&1 ||
    fail "errors after restart: $(cat $T/load2.out)"
ok "workers restarted: full answers again, no errors"

# A second gateway on the first one's public port: start-up fails, and the
# process drains what it started and exits 1 at once (it used to hang with
# /readyz at "shutting down").
dup_admin=$(free_port)
"$BIN/recsys-gateway" --data "$T/data" --port "$GW_PORT" --admin-port "$dup_admin" \
    --content-url "tcp://127.0.0.1:$CONTENT_PORT" --cf-url "tcp://127.0.0.1:$CF_PORT" \
    --redis-port "$REDIS_PORT" 2>"$T/dup.log" &
dup_pid=$!
for _ in $(seq 100); do
    kill -0 $dup_pid 2>/dev/null || break
    sleep 0.1
done
if kill -0 $dup_pid 2>/dev/null; then
    kill -9 $dup_pid
    fail "a gateway whose port is taken did not exit within 10 s: $(cat "$T/dup.log")"
fi
wait $dup_pid && rc=0 || rc=$?
[ "$rc" = 1 ] || fail "exit code $rc for a taken port (want 1): $(cat "$T/dup.log")"
grep -q 'address already in use' "$T/dup.log" || fail "no reason logged: $(cat "$T/dup.log")"
ok "a gateway on a taken port exits 1 with the reason"
