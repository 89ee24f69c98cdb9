#!/usr/bin/env bash
# container.sh: the image of deploy/Dockerfile, built and run with podman
# (set-up in container_env.bash):
#  1. builds it from the working tree;
#  2. size: the runtime layers add at most 100 MB to the Debian base (the
#     packages they add are listed with their installed sizes);
#  3. runs as uid 10001 in its WORKDIR /var/lib/recsys (which exists and
#     belongs to that user), with a read-only root and every capability
#     dropped; every binary in /opt/recsys/bin answers --help and finds all
#     its libraries;
#  4. starts recsys-content, recsys-cf and recsys-gateway from the image on
#     the demo data in it (host network, a Redis on loopback), and the
#     gateway answers a recommendation (200, both workers, not degraded),
#     records feedback in Redis and serves the web page.
set -u
source "$(dirname "$0")/container_env.bash"
for tool in redis-server redis-cli; do
    command -v $tool >/dev/null || skip "$tool not installed"
done

ensure_image

# 2. size
base=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")
img=$(podman image inspect --format '{{.Size}}' "$IMAGE")
added=$((img - base))
pk='${Installed-Size}\t${Package}\n'
podman run --rm --no-healthcheck "$BASE_IMAGE" dpkg-query -W -f "$pk" | sort >"$T/base.pk"
podman run --rm --no-healthcheck "$IMAGE" dpkg-query -W -f "$pk" | sort >"$T/image.pk"
echo "packages the runtime stage adds (installed KB):"
comm -13 "$T/base.pk" "$T/image.pk" | sort -n | tail -n 8 | sed 's/^/    /'
echo "    ... $(comm -13 "$T/base.pk" "$T/image.pk" | wc -l) packages, $(comm -13 "$T/base.pk" "$T/image.pk" | awk '{s += $1} END {print s}') KB"
comm -13 "$T/base.pk" "$T/image.pk" | awk '$2 ~ /-dev$/ || $2 ~ /^(gcc|g\+\+|cpp|cmake|make|build-essential)/ {print $2}' >"$T/devpk"
[ -s "$T/devpk" ] && fail "build packages in the runtime image: $(tr '\n' ' ' <"$T/devpk")"
[ "$added" -le "$SIZE_LIMIT" ] || fail "the image adds $((added / 1000000)) MB to its base (limit $((SIZE_LIMIT / 1000000)) MB)"
ok "image $((img / 1000000)) MB = base $((base / 1000000)) MB + $((added / 1000000)) MB (limit $((SIZE_LIMIT / 1000000)) MB)"

# 3. user, WORKDIR, --help of every binary, libraries
RUN=(podman run --rm --no-healthcheck --read-only --cap-drop ALL --security-opt no-new-privileges --network none)
out=$("${RUN[@]}" "$IMAGE" sh -c 'echo "$(id -u):$(id -g) $(pwd) $(stat -c %U:%G .)"') ||
    fail "the image does not start: $out"
set -- $out
[ "$1" = 10001:10001 ] || fail "runs as $1, not 10001:10001"
[ "$2" = /var/lib/recsys ] || fail "working directory $2, not /var/lib/recsys"
[ "$3" = recsys:recsys ] || fail "/var/lib/recsys belongs to $3"
"${RUN[@]}" "$IMAGE" sh -ec '
    n=0
    for b in /opt/recsys/bin/*; do
        if ldd "$b" | grep -q "not found"; then echo "$b: $(ldd "$b" | grep "not found")"; exit 1; fi
        "$b" --help >/tmp/help 2>&1 || { echo "$b --help: exit $?"; head -n 5 /tmp/help; exit 1; }
        grep -q "^Usage" /tmp/help || { echo "$b --help: no Usage line"; exit 1; }
        n=$((n + 1))
    done
    echo "$n binaries"' >"$T/help.out" 2>&1 --tmpfs /tmp || fail "--help in the image: $(cat "$T/help.out")"
ok "uid 10001 in /var/lib/recsys (owned by recsys), read-only root, no capabilities: $(tail -n 1 "$T/help.out") answer --help"

# 4. the three services from the image, Redis on the host's loopback
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
PIDS+=($!)
CONTENT_PORT=$(free_port) CF_PORT=$(free_port) GW_PORT=$(free_port)
CA=$(free_port) CFA=$(free_port) GWA=$(free_port)
NAME=recsys-test-$$
CLEANUP+=("podman rm -f -t 0 $NAME-content $NAME-cf $NAME-gateway")
SVC=(podman run -d --no-healthcheck --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --network host)
"${SVC[@]}" --name $NAME-content "$IMAGE" recsys-content serve --listen "tcp://127.0.0.1:$CONTENT_PORT" \
    --admin-port "$CA" >/dev/null || fail "podman run content"
"${SVC[@]}" --name $NAME-cf "$IMAGE" recsys-cf serve --listen "tcp://127.0.0.1:$CF_PORT" --admin-port "$CFA" \
    >/dev/null || fail "podman run cf"
"${SVC[@]}" --name $NAME-gateway "$IMAGE" recsys-gateway --port "$GW_PORT" --admin-port "$GWA" \
    --content-url "tcp://localhost:$CONTENT_PORT" --cf-url "tcp://127.0.0.1:$CF_PORT" \
    --redis-host localhost --redis-port "$REDIS_PORT" --cache-ttl-ms 0 >/dev/null || fail "podman run gateway"
if ! wait_http "http://127.0.0.1:$GWA/readyz" 200 120; then
    for c in content cf gateway; do podman logs $NAME-$c >"$T/$c.log" 2>&1; done
    fail "gateway from the image not ready in 120 s: $(curl -s "http://127.0.0.1:$GWA/readyz")"
fi
ok "content, cf and gateway containers ready ($(secs) s since the start of the test)"
B=$T/body
code=$(curl -s -o $B -w '%{http_code}' "http://127.0.0.1:$GW_PORT/v1/users/7/recommendations?k=5")
[ "$code" = 200 ] || fail "recommendation: $code $(head -c 300 $B)"
grep -q '"degraded":false' $B || fail "recommendation degraded: $(head -c 300 $B)"
n=$(grep -o '"item_id"' $B | wc -l)
[ "$n" = 5 ] || fail "$n items instead of 5: $(head -c 300 $B)"
item=$(grep -o '"item_id":"[^"]*"' $B | head -n 1 | sed 's/.*:"//; s/"$//')
code=$(curl -s -o $B -w '%{http_code}' -X POST "http://127.0.0.1:$GW_PORT/v1/feedback" \
    -H 'Content-Type: application/json' -d "{\"events\":[{\"user_id\":\"7\",\"item_id\":\"$item\",\"rating\":5}]}")
[ "$code" = 200 ] || fail "feedback: $code $(head -c 300 $B)"
[ "$(redis-cli -p "$REDIS_PORT" XLEN recsys:feedback)" = 1 ] || fail "feedback not in Redis's stream"
ct=$(curl -s -o $B -w '%{http_code} %{content_type}' "http://127.0.0.1:$GW_PORT/")
[ "$ct" = "200 text/html; charset=utf-8" ] && grep -qi '<html' $B || fail "the web page from the image: $ct"
commit=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
curl -s "http://127.0.0.1:$GWA/metrics" | grep -q "^recsys_build_info{.*commit=\"$commit\"" ||
    fail "recsys_build_info in the image does not name commit $commit: $(curl -s "http://127.0.0.1:$GWA/metrics" | grep build_info)"
for c in content cf gateway; do
    [ "$(podman inspect -f '{{.State.Running}}' $NAME-$c)" = true ] || fail "$c container stopped"
done
ok "gateway in a container: 5 recommendations from both workers, feedback in Redis, the web page, build_info commit $commit ($(secs) s)"
