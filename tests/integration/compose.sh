#!/usr/bin/env bash
# compose.sh: docker-compose.yml for real: docker-compose (Debian's, 1.29)
# against podman's Docker-compatible API (`podman system service` on a
# private socket; set-up in container_env.bash), with the image built from
# the working tree and a Redis image made from the Debian base and Debian's
# redis-server when none is in podman's store (no registry is reachable).
# Podman runs health checks from systemd timers, which do not run here: this
# script runs `podman healthcheck run` on the project's containers in a
# loop, so that depends_on conditions and restarts work as under Docker.
#  1. `up -d`: Redis, both training jobs, both workers and the gateway start;
#     recommendations and similar items answer through the published port;
#  2. AddFeedback is acknowledged, and after `docker-compose restart redis`
#     the event is still in the stream (append-only file on the volume) and
#     the gateway records feedback again;
#  3. the content worker's process is killed (a crash): answers stay 200,
#     degraded while it is gone, and full again once the restart policy has
#     brought it back;
#  4. `up --scale content=2`: the gateway finds the second worker behind the
#     service name (worker discovery, --worker-resolve-ms) and spreads its
#     calls over both;
#  5. `down -v` leaves no container, network or volume of the project.
set -u
source "$(dirname "$0")/container_env.bash"
command -v docker-compose >/dev/null || skip "docker-compose not installed (deploy/install-deps.sh)"

ensure_image
REDIS_IMAGE=${RECSYS_TEST_REDIS_IMAGE:-localhost/recsys-redis:suite}
if ! podman image exists "$REDIS_IMAGE"; then
    mkdir -p "$T/redis"
    cat >"$T/redis/Containerfile" <<'CF'
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
CMD ["redis-server", "--protected-mode", "no"]
CF
    podman build --format docker --isolation chroot --network host --pull=never -t "$REDIS_IMAGE" "$T/redis" \
        >"$T/redis-build.log" 2>&1 || fail "building the Redis image"
    echo "Redis image $REDIS_IMAGE made from $BASE_IMAGE and Debian's redis-server ($(secs) s)"
fi

SOCK=$T/podman.sock
podman system service --time=0 "unix://$SOCK" >"$T/podman-service.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "podman system service did not open $SOCK"
export DOCKER_HOST=unix://$SOCK
export RECSYS_IMAGE=$IMAGE RECSYS_REDIS_IMAGE=$REDIS_IMAGE
PORT=$(free_port)
export RECSYS_HTTP_PORT=$PORT
P=recsystest$$
DC=(docker-compose -f "$REPO/docker-compose.yml" -p $P)
CLEANUP=("${DC[*]} down -v -t 1" "${CLEANUP[@]}")
GW=http://127.0.0.1:$PORT

# Health checks: what podman's systemd timers would do.
(
    while :; do
        for id in $(podman ps -q --filter label=com.docker.compose.project=$P); do
            podman healthcheck run "$id" >/dev/null 2>&1
        done
        sleep 2
    done
) &
PIDS+=($!)

ctr() { podman ps -q --filter label=com.docker.compose.project=$P --filter label=com.docker.compose.service=$1; }
B=$T/body
get() { curl -s -o $B -w '%{http_code}' "$GW$1"; }
# answers_full SECONDS: until a recommendation is 200 and not degraded
answers_full() {
    for _ in $(seq $(($1 * 4))); do
        [ "$(get /v1/users/9/recommendations?k=5)" = 200 ] && grep -q '"degraded":false' $B && return 0
        sleep 0.25
    done
    return 1
}

# 1. up
t=$(date +%s)
"${DC[@]}" up -d --no-build >"$T/up.log" 2>&1 || fail "docker-compose up -d: $(tail -n 20 "$T/up.log")"
answers_full 120 || {
    "${DC[@]}" logs --tail 20 >"$T/compose.log" 2>&1
    fail "no full recommendation through port $PORT within 120 s of up: $(head -c 300 $B)"
}
ok "docker-compose up -d: full answers through the published port after $(( $(date +%s) - t )) s"
n=$(grep -o '"item_id"' $B | wc -l)
[ "$n" = 5 ] || fail "$n recommendations instead of 5"
item=$(grep -o '"item_id":"[^"]*"' $B | head -n 1 | sed 's/.*:"//; s/"$//')
[ "$(get "/v1/items/$item/similar?k=4")" = 200 ] || fail "similar items: $(head -c 300 $B)"
n=$(grep -o '"rank":[1-9]' $B | wc -l) # the query item comes back too, with rank 0
[ "$n" = 4 ] && grep -q '"degraded":false' $B || fail "similar items: $n items: $(head -c 600 $B)"
ok "recommendations and similar items ($item) through the published port"

# 2. feedback survives a Redis restart
fb() {
    curl -s -o $B -w '%{http_code}' -X POST "$GW/v1/feedback" -H 'Content-Type: application/json' \
        -d "{\"events\":[{\"user_id\":\"9\",\"item_id\":\"$item\",\"rating\":5}]}"
}
[ "$(fb)" = 200 ] || fail "feedback: $(head -c 300 $B)"
sid=$(grep -o '"stream_ids":\["[^"]*"' $B | sed 's/.*\["//; s/"$//')
[ -n "$sid" ] || fail "no stream id in $(head -c 300 $B)"
"${DC[@]}" restart redis >"$T/restart.log" 2>&1 || fail "docker-compose restart redis: $(tail -n 5 "$T/restart.log")"
ok=0
for _ in $(seq 100); do
    if podman exec "$(ctr redis)" redis-cli XRANGE recsys:feedback "$sid" "$sid" 2>/dev/null | grep -qx "$item"; then
        ok=1
        break
    fi
    sleep 0.2
done
[ $ok = 1 ] || fail "event $sid not in the stream after docker-compose restart redis"
code=000
for _ in $(seq 100); do code=$(fb); [ "$code" = 200 ] && break; sleep 0.2; done
[ "$code" = 200 ] || fail "feedback after the Redis restart: $code $(head -c 300 $B)"
ok "feedback $sid still in the stream after docker-compose restart redis (AOF volume); the gateway records again"

# 3. a worker crashes; the restart policy brings it back
id=$(ctr content)
[ -n "$id" ] || fail "no content container"
pid=$(podman inspect -f '{{.State.Pid}}' "$id")
restarts0=$(podman inspect -f '{{.RestartCount}}' "$id")
kill -9 "$pid" || fail "cannot kill the content worker's process $pid"
degraded=0 bad=0 full_again=0
for i in $(seq 240); do
    code=$(get "/v1/users/$((i % 50 + 1))/recommendations?k=5")
    if [ "$code" != 200 ]; then
        bad=$((bad + 1))
        echo "while content was down, request $i: $code $(head -c 200 $B)"
    elif grep -q '"degraded":true' $B; then
        degraded=$((degraded + 1))
    elif [ $degraded -gt 0 ]; then
        full_again=$i
        break
    fi
    sleep 0.25
done
[ $bad = 0 ] || fail "$bad answers not 200 while the content worker restarted"
[ $degraded -gt 0 ] || fail "no degraded answer after the content worker was killed"
[ $full_again -gt 0 ] || fail "answers still degraded 60 s after the content worker was killed ($degraded degraded)"
restarts1=$(podman inspect -f '{{.RestartCount}}' "$id")
[ "$restarts1" -gt "$restarts0" ] || fail "restart count $restarts0 -> $restarts1"
ok "content worker killed: $degraded degraded 200s, then full again (restart policy, restarts $restarts0 -> $restarts1)"

# 4. a second content worker: the gateway finds it behind the name "content"
"${DC[@]}" up -d --no-build --no-recreate --scale content=2 >"$T/scale.log" 2>&1 ||
    fail "docker-compose up --scale content=2: $(tail -n 5 "$T/scale.log")"
gw=$(ctr gateway)
metric() { # CONTAINER PORT NAME: sum of the samples of NAME (a prefix with labels) in its /metrics
    podman exec "$1" curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$3" 'index($1, m) == 1 {s += $2} END {print s + 0}'
}
REPLICAS='recsys_gateway_worker_replicas{worker="content"}'
for _ in $(seq 120); do
    [ "$(metric "$gw" 9090 "$REPLICAS")" = 2 ] && break
    sleep 0.25
done
[ "$(metric "$gw" 9090 "$REPLICAS")" = 2 ] || fail "the gateway dials $(metric "$gw" 9090 "$REPLICAS") content addresses 30 s after --scale content=2"
ids=$(ctr content)
set -- $ids
[ $# = 2 ] || fail "$# content containers after --scale content=2"
# Compose's DNS lists a container as soon as it runs (Kubernetes lists only
# ready pods): calls the gateway sends to it before its model is loaded come
# back degraded. Measure the spread once both are ready.
for c in "$@"; do
    for _ in $(seq 240); do
        podman exec "$c" curl -fs -o /dev/null http://127.0.0.1:9101/readyz && break
        sleep 0.25
    done
done
answers_full 60 || fail "no full answer with two content workers"
SCORE_OK='recsys_worker_requests_total{method="score",code="ok"}'
c1=$(metric $1 9101 "$SCORE_OK") c2=$(metric $2 9101 "$SCORE_OK")
for i in $(seq 60); do
    [ "$(get "/v1/users/$((i + 100))/recommendations?k=5")" = 200 ] && grep -q '"degraded":false' $B ||
        fail "request $i with two content workers: $(head -c 300 $B)"
done
d1=$(($(metric $1 9101 "$SCORE_OK") - c1)) d2=$(($(metric $2 9101 "$SCORE_OK") - c2))
[ $d1 -ge 10 ] && [ $d2 -ge 10 ] || fail "score calls over two content workers: $d1 and $d2 of 60 requests"
ok "--scale content=2: the gateway dials both addresses behind \"content\" and spreads calls: $d1 and $d2"

# 5. down -v
"${DC[@]}" down -v -t 5 >"$T/down.log" 2>&1 || fail "docker-compose down -v: $(tail -n 5 "$T/down.log")"
left=$(podman ps -aq --filter label=com.docker.compose.project=$P)
[ -z "$left" ] || fail "containers left after down -v: $left"
left=$(podman network ls --format '{{.Name}}' | grep "^${P}_" || true)
[ -z "$left" ] || fail "networks left after down -v: $left"
left=$(podman volume ls --format '{{.Name}}' | grep "^${P}_" || true)
[ -z "$left" ] || fail "volumes left after down -v: $left"
ok "down -v: no container, network or volume of project $P left ($(secs) s in all)"
