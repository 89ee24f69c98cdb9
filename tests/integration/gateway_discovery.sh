#!/usr/bin/env bash
# gateway_discovery.sh: the gateway spreads its calls over every address
# behind one worker name, and follows the name as addresses come and go
# (what a Kubernetes headless Service does with pods), and finds Redis at
# its new address after a reconnect.
#
# Names are resolved through a hosts-style file by nss_wrapper (Debian's
# libnss-wrapper, preloaded into the gateway only: the real getaddrinfo
# path, no test hook in the gateway). content.test lists 127.0.0.2 and
# 127.0.0.3, each running a content worker on the same port; the gateway
# dials tcp://content.test:PORT with --worker-resolve-ms 300.
#  1. both addresses are dialled (recsys_gateway_worker_replicas 2) and
#     each serves a fair share of ~150 uncached Recommends;
#  2. a third address (127.0.0.4) added to the file is dialled within
#     seconds and all three share the load;
#  3. under load (recsys-load), 127.0.0.3 is removed from the file: within
#     seconds it gets no new calls; then its worker is stopped: every
#     answer under load is 200 and none degraded (none lost);
#  4. the name removed altogether: no replica, answers degraded (200),
#     /readyz 503; put back: full answers again;
#  5. redis.test moves from 127.0.0.1 to 127.0.0.5 (Redis restarted there):
#     feedback is acknowledged again once the gateway has reconnected;
#  6. under load, a CF replica that takes seconds to train appears behind
#     cf.test: while it answers "model not loaded" it is put on hold, so at
#     most a few answers degrade (one per hold), and the CF worker is never
#     marked down (a poll it answers is asked again of the ready replica).
set -u
source "$(dirname "$0")/gateway_env.bash"
have_workers || skip "worker binaries missing ($BIN/recsys-content, $BIN/recsys-cf)"
[ -x "$BIN/recsys-load" ] || skip "no $BIN/recsys-load"
NSSW=$(ldconfig -p 2>/dev/null | awk '/libnss_wrapper\.so[^.]/ || /libnss_wrapper\.so$/ {print $NF; exit}')
[ -n "$NSSW" ] || NSSW=$(ls /usr/lib/*/libnss_wrapper.so 2>/dev/null | head -n 1)
[ -n "$NSSW" ] || skip "libnss_wrapper.so not installed (Debian libnss-wrapper; deploy/install-deps.sh)"
# ASan wants to come first among the libraries: nss_wrapper is preloaded.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

HOSTS=$T/hosts
STAMP=$(date +%s)
# set_hosts LINE...: rewrites the file; nss_wrapper reloads it when its
# mtime changes, so each version gets a later one.
set_hosts() {
    printf '%s\n' "$@" >"$HOSTS.new"
    STAMP=$((STAMP + 1))
    touch -d "@$STAMP" "$HOSTS.new"
    mv "$HOSTS.new" "$HOSTS"
}
set_hosts "127.0.0.1 redis.test" "127.0.0.2 content.test" "127.0.0.3 content.test" "127.0.0.1 cf.test"

N=${GATEWAY_DISCOVERY_REQUESTS:-150}
PORT=$CONTENT_PORT
declare -A ADMIN PID
start_replica() { # NAME ADDRESS
    ADMIN[$1]=$(free_port)
    "$BIN/recsys-content" serve --data "$T/data" --listen "tcp://$2:$PORT" --admin-port "${ADMIN[$1]}" \
        2>>"$T/content-$1.log" &
    PID[$1]=$!
    PIDS+=(${PID[$1]})
    for _ in $(seq 600); do
        curl -s -o /dev/null "http://127.0.0.1:${ADMIN[$1]}/readyz" && return
        kill -0 "${PID[$1]}" 2>/dev/null || fail "content worker $1 on $2 exited"
        sleep 0.1
    done
    fail "content worker $1 on $2 not ready"
}
SCORE_OK='recsys_worker_requests_total{method="score",code="ok"}'
GW_DEG='recsys_gateway_degraded_total'
REPLICAS='recsys_gateway_worker_replicas{worker="content"}'
# wait_replicas N: until the gateway dials N content addresses; prints the ms taken.
wait_replicas() {
    local t0 now
    t0=$(date +%s%N)
    for _ in $(seq 200); do
        if [ "$(metric_sum $GW_ADMIN "$REPLICAS")" = "$1" ]; then
            now=$(date +%s%N)
            echo $(((now - t0) / 1000000))
            return
        fi
        sleep 0.05
    done
    fail "gateway dials $(metric_sum $GW_ADMIN "$REPLICAS") content addresses, not $1, 10 s after the change"
}
B=$T/body
# burst COUNT: COUNT uncached Recommends, each 200 and not degraded.
burst() {
    local bad=0 i code
    for i in $(seq "$1"); do
        code=$(req $B GET "$GW/v1/users/$((i % 600 + 1))/recommendations?k=10")
        [ "$code" = 200 ] && grep -q '"degraded":false' $B || bad=$((bad + 1))
    done
    [ $bad = 0 ] || fail "$bad of $1 answers not 200 or degraded: $(head -c 300 $B)"
}
# shares NAME...: score calls served by each named replica since the last call.
declare -A LAST
snapshot() { for n in "$@"; do LAST[$n]=$(metric_sum ${ADMIN[$n]} "$SCORE_OK"); done; }
check_shares() { # MIN_PERCENT NAME...
    local min=$1 total=0 n d desc=""
    shift
    declare -A D
    for n in "$@"; do
        d=$(($(metric_sum ${ADMIN[$n]} "$SCORE_OK") - LAST[$n]))
        D[$n]=$d
        total=$((total + d))
        desc="$desc $n $d"
    done
    for n in "$@"; do
        [ $((D[$n] * 100)) -ge $((total * min)) ] || fail "replica $n served ${D[$n]} of $total score calls (< $min%):$desc"
    done
    echo "$desc"
}

start_redis
start_replica a 127.0.0.2
start_replica b 127.0.0.3
start_cf
CONTENT_URL="tcp://content.test:$PORT"
CF_URL="tcp://cf.test:$CF_PORT"
REDIS_HOST=redis.test
# NSS_WRAPPER_DISABLE_DEEPBIND: its fall-back to libc (a name not in the
# file) would dlopen libc with RTLD_DEEPBIND, which ASan refuses.
# UV_THREADPOOL_SIZE=1: nss_wrapper 1.1.12 is not safe for look-ups on two
# threads at once (ASan caught a double free in its reload of the file when
# content.test and cf.test were resolved together); glibc's resolver is, and
# the gateway runs its look-ups on libuv's pool, so one thread serialises
# them for the stand-in only.
GW_WRAP="env LD_PRELOAD=$NSSW NSS_WRAPPER_HOSTS=$HOSTS NSS_WRAPPER_DISABLE_DEEPBIND=1 UV_THREADPOOL_SIZE=1"
GW_FLAGS="--cache-ttl-ms 0 --worker-resolve-ms 300 --content-deadline-ms 2000 --cf-deadline-ms 2000"
start_gateway
wait_ready
wait_replicas 2 >/dev/null
sleep 0.5 # both pipes connected

# 1. two addresses behind one name share the load
snapshot a b
burst "$N"
ok "content.test -> 127.0.0.2, 127.0.0.3: calls spread:$(check_shares 20 a b)"

# 2. an address appears
start_replica c 127.0.0.4
set_hosts "127.0.0.1 redis.test" "127.0.0.2 content.test" "127.0.0.3 content.test" "127.0.0.4 content.test" "127.0.0.1 cf.test"
ms=$(wait_replicas 3)
sleep 0.5
snapshot a b c
burst "$N"
ok "127.0.0.4 added: dialled after $ms ms; calls spread:$(check_shares 12 a b c)"

# 3. an address goes away under load, then its worker stops: nothing lost
deg0=$(metric_sum $GW_ADMIN $GW_DEG)
CONNS=4
"$BIN/recsys-load" --port "$GW_PORT" --path '/v1/users/{n}/recommendations?k=10' --ids 600 \
    --connections $CONNS --rate 150 --warmup 0 --duration 4 --json >$T/load.out 2>&1 &
LOAD=$!
PIDS+=($LOAD)
sleep 1
set_hosts "127.0.0.1 redis.test" "127.0.0.2 content.test" "127.0.0.4 content.test" "127.0.0.1 cf.test"
ms=$(wait_replicas 2)
sleep 0.2 # calls already sent to it complete
b0=$(metric_sum ${ADMIN[b]} "$SCORE_OK")
sleep 1
b1=$(metric_sum ${ADMIN[b]} "$SCORE_OK")
[ "$b1" = "$b0" ] || fail "127.0.0.3 still got $((b1 - b0)) score calls after leaving the name"
kill -TERM ${PID[b]}
wait ${PID[b]} 2>/dev/null
wait $LOAD
rc=$?
[ $rc = 0 ] || fail "errors or non-2xx answers under load while 127.0.0.3 left: $(cat $T/load.out)"
deg1=$(metric_sum $GW_ADMIN $GW_DEG)
[ "$deg1" = "$deg0" ] || fail "$((deg1 - deg0)) degraded answers while an address left the name and its worker stopped"
grep -q '"worker replica removed".*127.0.0.3' $T/gateway.log || fail "no log line for the removed replica"
snapshot a c
burst $((N / 2))
ok "127.0.0.3 removed under load: no new calls after $ms ms, worker stopped, none degraded; a and c:$(check_shares 20 a c)"

# 4. the name disappears (no pod ready), then comes back
set_hosts "127.0.0.1 redis.test" "127.0.0.1 cf.test"
wait_replicas 0 >/dev/null
code=$(req $B GET "$GW/v1/users/3/recommendations?k=10")
[ "$code" = 200 ] && grep -q '"degraded":true' $B || fail "no content address: answer $code $(head -c 300 $B)"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_ADMIN/readyz")
[ "$code" = 503 ] || fail "readyz $code with no content address"
set_hosts "127.0.0.1 redis.test" "127.0.0.2 content.test" "127.0.0.1 cf.test"
wait_replicas 1 >/dev/null
wait_ready
burst 20
ok "content.test gone: degraded answers, readyz 503; back: full answers"

# 5. Redis moves to another address behind its name
req $B GET "$GW/v1/users/5/recommendations?k=1" >/dev/null
ITEM=$(grep -o '"item_id":"[^"]*"' $B | head -n 1 | sed 's/.*:"//; s/"$//')
[ -n "$ITEM" ] || fail "no item in $(head -c 300 $B)"
fb() {
    req $B POST "$GW/v1/feedback" -H 'Content-Type: application/json' \
        -d "{\"events\":[{\"user_id\":\"5\",\"item_id\":\"$ITEM\",\"rating\":4}]}"
}
[ "$(fb)" = 200 ] || fail "feedback before the move: $(cat $B)"
kill $REDIS_PID
wait $REDIS_PID 2>/dev/null
set_hosts "127.0.0.5 redis.test" "127.0.0.2 content.test" "127.0.0.1 cf.test"
redis-server --port "$REDIS_PORT" --bind 127.0.0.5 --save '' --appendonly no --dir "$T" >>"$T/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=($REDIS_PID)
code=000
for _ in $(seq 100); do
    code=$(fb)
    [ "$code" = 200 ] && break
    sleep 0.1
done
[ "$code" = 200 ] || fail "feedback $code 10 s after Redis moved to 127.0.0.5: $(cat $B)"
redis-cli -h 127.0.0.5 -p "$REDIS_PORT" XLEN recsys:feedback | grep -qx 1 || fail "event not in the moved Redis's stream"
grep -q 'redis host resolved to a new address' $T/gateway.log || fail "no log line for Redis's new address"
ok "redis.test moved to 127.0.0.5: the gateway reconnected there, feedback acknowledged"

# 6. a replica still loading its model appears behind a name under load
deg0=$(metric_sum $GW_ADMIN $GW_DEG)
"$BIN/recsys-load" --port "$GW_PORT" --path '/v1/users/{n}/recommendations?k=10' --ids 600 \
    --connections 4 --rate 100 --warmup 0 --duration 4 --json >$T/load2.out 2>&1 &
LOAD=$!
PIDS+=($LOAD)
sleep 0.5
# ALS with many iterations: seconds of training before it serves
"$BIN/recsys-cf" serve --data "$T/data" --listen "tcp://127.0.0.6:$CF_PORT" --admin-port 0 \
    --cf-model als --cf-iterations 200 --cf-factors 128 --cf-threads 1 2>>"$T/cf-slow.log" &
SLOW=$!
PIDS+=($SLOW)
set_hosts "127.0.0.5 redis.test" "127.0.0.2 content.test" "127.0.0.1 cf.test" "127.0.0.6 cf.test"
wait $LOAD
rc=$?
[ $rc = 0 ] || fail "errors or non-2xx answers under load while a loading CF replica joined: $(cat $T/load2.out)"
grep -q '"worker replica added","worker":"cf".*127.0.0.6' $T/gateway.log || fail "the CF replica on 127.0.0.6 was not dialled"
grep -q '"model loaded"' $T/cf-slow.log && loaded="loaded during the load" || loaded="still loading at the end"
deg1=$(metric_sum $GW_ADMIN $GW_DEG)
[ $((deg1 - deg0)) -le 8 ] || fail "$((deg1 - deg0)) degraded answers while a CF replica was loading (its calls should go to the ready one)"
grep -q '"worker down","worker":"cf"' $T/gateway.log && fail "the CF worker was marked down while a replica was loading"
ok "a CF replica loading its model joined cf.test under load ($loaded): $((deg1 - deg0)) degraded answers, CF never marked down"
# A sanitizer build may still be training: do not wait for it.
{ kill -9 $SLOW && wait $SLOW; } 2>/dev/null || true
