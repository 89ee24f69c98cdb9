#!/usr/bin/env bash
# deploy_local.sh: the quick start itself. deploy/local.sh up (no apt-get, the
# already-built binaries of RECSYS_BIN_DIR) with a non-default
# RECSYS_HTTP_PORT and a private state dir, twice at once on two ports (two
# copies must not collide); each answers a recommendation and a similar-items
# call; status; down stops every process it started (pids gone, ports free).
# Also: a missing binary or a missing command is a clear failure (exit 3
# naming it), not a pretended start; with ../shared, a TMDB catalog without
# ratings starts without a CF worker, and --tmdb joins TMDB onto
# ml-latest-small in every process (refused without links.csv). Skips (77) while a service binary or its
# serve command does not exist yet.
set -u
REPO=${RECSYS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${RECSYS_BIN_DIR:-$REPO/build/bin}
TMPBASE=${RECSYS_TEST_TMP:-/tmp}
mkdir -p "$TMPBASE"
T=$(mktemp -d "$TMPBASE/deploy-local.XXXXXX")
LOCAL=$REPO/deploy/local.sh

fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*/*.log "$T"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
    exit 1
}
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok - $*"; }

cleanup() {
    for s in "$T"/s1 "$T"/s2; do [ -d "$s" ] && bash "$LOCAL" down --state "$s" >/dev/null 2>&1; done
    rm -rf "$T"
}
trap cleanup EXIT

for tool in curl redis-server redis-cli setsid; do command -v $tool >/dev/null || skip "$tool not installed"; done
[ -x "$BIN/recsys-gateway" ] || skip "no $BIN/recsys-gateway yet"
"$BIN/recsys-gateway" --help >/dev/null 2>&1 || skip "recsys-gateway --help fails"
for w in recsys-content recsys-cf; do
    [ -x "$BIN/$w" ] || skip "no $BIN/$w yet"
    "$BIN/$w" serve --help >/dev/null 2>&1 || skip "'$w serve' does not exist yet"
done
[ -x "$BIN/recsys-gen" ] || skip "no $BIN/recsys-gen"

# A free port below the ephemeral range (no socket of any state uses it).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        grep -q "^ *[0-9]*: [0-9A-F]*$(printf ':%04X ' $p)" /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }
    done
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- a missing binary / command is named, exit 3, nothing started
mkdir -p "$T/fakebin"
for b in recsys-gen recsys-content recsys-cf; do ln -s "$BIN/$b" "$T/fakebin/$b"; done
P0=$(free_port)
RECSYS_HTTP_PORT=$P0 bash "$LOCAL" up --no-install --bin-dir "$T/fakebin" --state "$T/s0" >"$T/missing.out" 2>&1
rc=$?
[ $rc = 3 ] || fail "missing gateway: exit $rc, want 3"
grep -q "recsys-gateway does not exist" "$T/missing.out" || fail "message does not name recsys-gateway: $(cat "$T/missing.out")"
printf '#!/bin/sh\n[ "$1" = serve ] && { echo "unknown command serve" >&2; exit 2; }\nexit 0\n' >"$T/fakebin/recsys-gateway"
rm "$T/fakebin/recsys-cf"
printf '#!/bin/sh\n[ "$1" = serve ] && { echo "unknown command serve" >&2; exit 2; }\nexit 0\n' >"$T/fakebin/recsys-cf"
chmod +x "$T/fakebin/recsys-gateway" "$T/fakebin/recsys-cf"
RECSYS_HTTP_PORT=$P0 bash "$LOCAL" up --no-install --bin-dir "$T/fakebin" --state "$T/s0" >"$T/missing.out" 2>&1
rc=$?
[ $rc = 3 ] || fail "missing 'recsys-cf serve': exit $rc, want 3"
grep -q "'recsys-cf serve' does not exist" "$T/missing.out" || fail "message does not name 'recsys-cf serve': $(cat "$T/missing.out")"
[ ! -f "$T/s0/redis.pid" ] || fail "redis started although a component is missing"
ok "missing binary and missing command: exit 3, named, nothing started"

# ---- two copies on two non-default ports
P1=$(free_port)
P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
RECSYS_HTTP_PORT=$P1 bash "$LOCAL" up --no-install --bin-dir "$BIN" --state "$T/s1" >"$T/up1.out" 2>&1 ||
    fail "up on port $P1: $(tail -n 20 "$T/up1.out")"
RECSYS_HTTP_PORT=$P2 bash "$LOCAL" up --no-install --bin-dir "$BIN" --state "$T/s2" >"$T/up2.out" 2>&1 ||
    fail "up on port $P2: $(tail -n 20 "$T/up2.out")"
grep -q "curl -s 'http://127.0.0.1:$P1/v1/users/1/recommendations" "$T/up1.out" || fail "no example call printed"
grep -q -- "-> HTTP 200" "$T/up1.out" || fail "example calls not answered"
# the web page's URL is the first thing printed once ready, and it answers
first=$(grep -A1 "waiting for readiness" "$T/up1.out" | tail -n 1)
[ "$first" = "web page: http://127.0.0.1:$P1/   <- open it in a browser" ] ||
    fail "first line after readiness is not the page's URL: '$first'"
[ "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$P1/")" = "200 text/html; charset=utf-8" ] ||
    fail "the printed page URL does not answer the page"
ok "two copies up on ports $P1 and $P2, example calls printed and answered"

for P in $P1 $P2; do
    c=$(curl -s -o "$T/rec.out" -w '%{http_code}' "http://127.0.0.1:$P/v1/users/1/recommendations?k=5")
    [ "$c" = 200 ] || fail "recommend on $P: $c $(head -c 300 "$T/rec.out")"
    [ "$(grep -o '"item_id"' "$T/rec.out" | wc -l)" = 5 ] || fail "5 recommendations on $P: $(head -c 300 "$T/rec.out")"
    grep -q '"degraded":false' "$T/rec.out" || fail "recommendation on $P degraded: $(head -c 300 "$T/rec.out")"
    c=$(curl -s -o "$T/sim.out" -w '%{http_code}' "http://127.0.0.1:$P/v1/items/the-kid-1921/similar?k=5")
    [ "$c" = 200 ] || fail "similar on $P: $c $(head -c 300 "$T/sim.out")"
    [ "$(grep -o '"item_id"' "$T/sim.out" | wc -l)" -ge 5 ] || fail "similar items on $P: $(head -c 300 "$T/sim.out")"
done
ok "recommendation (5 items, not degraded) and similar items on both copies"

bash "$LOCAL" status --state "$T/s1" >"$T/status.out" 2>&1 || fail "status: $(cat "$T/status.out")"
[ "$(grep -c ', ready$' "$T/status.out")" = 4 ] || fail "status not all ready: $(cat "$T/status.out")"
RECSYS_HTTP_PORT=$P1 bash "$LOCAL" up --no-install --bin-dir "$BIN" --state "$T/s1" >"$T/again.out" 2>&1 ||
    fail "second up: $(cat "$T/again.out")"
grep -q "already running" "$T/again.out" || fail "second up did not notice the running set"
ok "status lists 4 ready processes; a second up leaves the running set alone"

# ---- down: every started process is gone, its ports are free
pids1=$(cat "$T"/s1/*.pid)
. "$T/s1/ports.env"
ports1="$HTTP_PORT $GW_ADMIN $CONTENT_PORT $CONTENT_ADMIN $CF_PORT $CF_ADMIN $REDIS_PORT"
[ "$(echo $pids1 | wc -w)" = 4 ] || fail "4 pid files expected: $pids1"
bash "$LOCAL" down --state "$T/s1" >"$T/down.out" 2>&1 || fail "down: $(cat "$T/down.out")"
grep -q SIGKILL "$T/down.out" && fail "a process needed SIGKILL: $(cat "$T/down.out")"
for p in $pids1; do kill -0 "$p" 2>/dev/null && fail "pid $p still alive after down"; done
for p in $ports1; do listening "$p" && fail "port $p still listening after down"; done
ls "$T"/s1/*.pid >/dev/null 2>&1 && fail "pid files left"
c=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/v1/items/the-kid-1921/similar?k=5")
[ "$c" = 200 ] || fail "the other copy stopped too ($c)"
pids2=$(cat "$T"/s2/*.pid)
bash "$LOCAL" down --state "$T/s2" >/dev/null 2>&1 || fail "down 2"
for p in $pids2; do kill -0 "$p" 2>/dev/null && fail "pid $p still alive after down (copy 2)"; done
bash "$LOCAL" down --state "$T/s2" >"$T/down2.out" 2>&1 || fail "a second down fails"
ok "down: SIGTERM stopped all 4 processes of each copy (no SIGKILL), ports free, the other copy untouched"

# ---- a catalog without ratings (TMDB 5000): content worker + gateway only
TMDB=${RECSYS_SHARED:-$REPO/../shared}/data/tmdb-5000
if [ -f "$TMDB/tmdb_5000_movies.csv" ]; then
    P3=$(free_port)
    RECSYS_HTTP_PORT=$P3 bash "$LOCAL" up --no-install --bin-dir "$BIN" --state "$T/s1" --data "$TMDB" >"$T/up3.out" 2>&1 ||
        fail "up on TMDB: $(tail -n 20 "$T/up3.out")"
    grep -q "catalog only" "$T/up3.out" || fail "TMDB not recognised as catalog-only"
    [ ! -f "$T/s1/cf.pid" ] || fail "a CF worker was started for a catalog without ratings"
    c=$(curl -s -o "$T/sim.out" -w '%{http_code}' "http://127.0.0.1:$P3/v1/items/19995/similar?k=5")
    [ "$c" = 200 ] || fail "TMDB similar: $c"
    grep -q '"content_score":[0-9.]*[1-9]' "$T/sim.out" || fail "TMDB similar items not from the content model: $(head -c 300 "$T/sim.out")"
    pids3=$(cat "$T"/s1/*.pid)
    bash "$LOCAL" down --state "$T/s1" >/dev/null 2>&1 || fail "down (TMDB)"
    for p in $pids3; do kill -0 "$p" 2>/dev/null && fail "pid $p alive after down (TMDB)"; done
    ok "TMDB 5000 (no ratings): content worker + gateway, similar items from the content model, down clean"
else
    echo "note: $TMDB absent: the catalog-only start is not tested"
fi

# ---- --tmdb: refused without a links.csv to join on; with ml-latest-small
# every process loads the joined catalog
ML=${RECSYS_SHARED:-$REPO/../shared}/data/ml-latest-small
if [ -f "$TMDB/tmdb_5000_movies.csv" ] && [ -f "$ML/links.csv" ]; then
    P4=$(free_port)
    RECSYS_HTTP_PORT=$P4 bash "$LOCAL" up --no-install --bin-dir "$BIN" --state "$T/s3" --tmdb "$TMDB" >"$T/up4.out" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "--tmdb with the demo data: exit $rc, want 1"
    grep -q "needs a MovieLens CSV --data with links.csv" "$T/up4.out" || fail "--tmdb refusal: $(cat "$T/up4.out")"
    ls "$T"/s3/*.pid >/dev/null 2>&1 && fail "--tmdb refusal started something"
    ok "--tmdb without a links.csv dataset: refused before starting anything"
    RECSYS_HTTP_PORT=$P4 bash "$LOCAL" up --no-install --bin-dir "$BIN" --state "$T/s2" --data "$ML" --tmdb "$TMDB" \
        >"$T/up5.out" 2>&1 || fail "up on ml-latest-small --tmdb: $(tail -n 20 "$T/up5.out")"
    for s in content cf gateway; do
        grep -q '"msg":"tmdb join".*"matched_items":3537' "$T/s2/$s.log" || fail "$s did not join TMDB"
    done
    c=$(curl -s -o "$T/item.out" -w '%{http_code}' "http://127.0.0.1:$P4/v1/items?q=toy%20story%20(1995)&k=1")
    [ "$c" = 200 ] || fail "item search: $c"
    grep -q '"overview":"Led by Woody' "$T/item.out" || fail "Toy Story has no TMDB overview: $(head -c 300 "$T/item.out")"
    c=$(curl -s -o "$T/sim.out" -w '%{http_code}' "http://127.0.0.1:$P4/v1/items/1/similar?k=5")
    [ "$c" = 200 ] || fail "similar (--tmdb): $c"
    grep -q '"item_id":"3114"' "$T/sim.out" || fail "Toy Story 2 not similar to Toy Story: $(head -c 300 "$T/sim.out")"
    bash "$LOCAL" down --state "$T/s2" >/dev/null 2>&1 || fail "down (--tmdb)"
    ok "ml-latest-small --tmdb: content, CF and gateway joined 3537 items; overview served; Toy Story 2 similar"
else
    echo "note: $ML or $TMDB absent: --tmdb is not tested"
fi
