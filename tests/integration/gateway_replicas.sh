#!/usr/bin/env bash
# gateway_replicas.sh: several replicas of a worker behind one address share
# the load. Two content workers (two listen URLs) and one CF worker; the
# gateway dials both content URLs comma-separated (--content-url "a,b") and
# nng spreads the calls over the connected pipes. ~200 uncached Recommends
# (cache-ttl-ms 0): each replica's own /metrics must count a fair share of
# the score calls. Then one replica is SIGKILLed under load (recsys-load:
# only 200s, degraded answers at most the calls in flight on it, the worker
# never marked down) and the next answers must be 200 and full (degraded false, the gateway's degraded counter unchanged),
# served by the surviving replica alone, and /readyz stays 200. A replica
# dying must not mark the whole worker down while another is connected.
set -u
source "$(dirname "$0")/gateway_env.bash"
have_workers || skip "worker binaries missing ($BIN/recsys-content, $BIN/recsys-cf)"

N=${GATEWAY_REPLICAS_REQUESTS:-200}
MIN_SHARE=20 # percent of the score calls each replica must serve

CONTENT_B_PORT=$(free_port)
start_replica() { # NAME PORT -> pid in REPLICA_PID, admin port in REPLICA_ADMIN
    REPLICA_ADMIN=$(free_port)
    "$BIN/recsys-content" serve --data "$T/data" --listen "tcp://127.0.0.1:$2" --admin-port "$REPLICA_ADMIN" \
        2>>"$T/content-$1.log" &
    REPLICA_PID=$!
    PIDS+=($REPLICA_PID)
}

start_redis
start_replica a "$CONTENT_PORT"
PID_A=$REPLICA_PID ADMIN_A=$REPLICA_ADMIN
start_replica b "$CONTENT_B_PORT"
PID_B=$REPLICA_PID ADMIN_B=$REPLICA_ADMIN
start_cf
CONTENT_URL="tcp://127.0.0.1:$CONTENT_PORT,tcp://127.0.0.1:$CONTENT_B_PORT"
GW_FLAGS="--cache-ttl-ms 0 --content-deadline-ms 2000 --cf-deadline-ms 2000"
start_gateway
wait_ready

# The gateway is ready when one content connection answered; wait until both
# replicas serve their admin port and the gateway holds a pipe to each (a
# replica still loading would get no share).
for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$ADMIN_A/healthz" && curl -s -o /dev/null "http://127.0.0.1:$ADMIN_B/healthz" && break
    sleep 0.1
done
sleep 1

SCORE_OK='recsys_worker_requests_total{method="score",code="ok"}'
GW_DEG='recsys_gateway_degraded_total'
a0=$(metric_sum $ADMIN_A "$SCORE_OK")
b0=$(metric_sum $ADMIN_B "$SCORE_OK")
deg0=$(metric_sum $GW_ADMIN $GW_DEG)

B=$T/body
bad=0
for i in $(seq "$N"); do
    code=$(req $B GET "$GW/v1/users/$((i % 600 + 1))/recommendations?k=10")
    [ "$code" = 200 ] && grep -q '"degraded":false' $B || bad=$((bad + 1))
done
[ $bad = 0 ] || fail "$bad of $N answers not 200 or degraded with both replicas up: $(head -c 300 $B)"
a1=$(metric_sum $ADMIN_A "$SCORE_OK")
b1=$(metric_sum $ADMIN_B "$SCORE_OK")
da=$((a1 - a0)) db=$((b1 - b0))
total=$((da + db))
[ $total -ge "$N" ] || fail "replicas counted $total score calls for $N requests (a $da, b $db)"
for pair in "a $da" "b $db"; do
    set -- $pair
    [ $(($2 * 100)) -ge $((total * MIN_SHARE)) ] ||
        fail "replica $1 served $2 of $total score calls (< $MIN_SHARE%): a $da, b $db"
done
ok "two content replicas share the load: a $da, b $db of $total score calls"

# One replica dies under load; the other carries on. Only the calls in
# flight on the dead replica may come back degraded (at most one per load
# connection); the worker must not be marked down as a whole.
if [ -x "$BIN/recsys-load" ]; then
    CONNS=4
    "$BIN/recsys-load" --port "$GW_PORT" --path '/v1/users/{n}/recommendations?k=10' --ids 600 \
        --connections $CONNS --rate 200 --warmup 0 --duration 3 --json >$T/load.out 2>&1 &
    LOAD=$!
    PIDS+=($LOAD)
    sleep 1
    kill -9 $PID_B
    wait $LOAD
    rc=$?
    [ $rc = 0 ] || fail "errors or non-2xx answers under load while a replica died: $(cat $T/load.out)"
    degl=$(metric_sum $GW_ADMIN $GW_DEG)
    [ $((degl - deg0)) -le $CONNS ] ||
        fail "$((degl - deg0)) degraded answers when one of two replicas died (in flight at most $CONNS)"
    grep -q 'worker down' $T/gateway.log && fail "content worker marked down with a replica still connected"
    ok "replica killed under load: only 200s, $((degl - deg0)) degraded (calls in flight on it)"
    deg0=$degl
else
    kill -9 $PID_B
fi
wait $PID_B 2>/dev/null
sleep 0.5
a2=$(metric_sum $ADMIN_A "$SCORE_OK")
bad=0
M=$((N / 2))
for i in $(seq "$M"); do
    code=$(req $B GET "$GW/v1/users/$((i % 600 + 1))/recommendations?k=10")
    if [ "$code" != 200 ] || ! grep -q '"degraded":false' $B; then
        bad=$((bad + 1))
        echo "after kill, request $i: $code $(head -c 200 $B)"
    fi
done
[ $bad = 0 ] || fail "$bad of $M answers not 200 or degraded after one of two replicas died"
deg1=$(metric_sum $GW_ADMIN $GW_DEG)
[ "$deg1" = "$deg0" ] || fail "gateway counted $((deg1 - deg0)) degraded answers with one replica still up"
a3=$(metric_sum $ADMIN_A "$SCORE_OK")
[ $((a3 - a2)) -ge $M ] || fail "surviving replica served $((a3 - a2)) of $M score calls"
code=$(curl -s -o $B -w '%{http_code}' "http://127.0.0.1:$GW_ADMIN/readyz")
[ "$code" = 200 ] || fail "readyz $code with one replica up: $(cat $B)"
ok "one replica killed: $M full 200s served by the other ($((a3 - a2)) score calls), readyz 200"
