#!/usr/bin/env bash
# gateway_s4.sh: BENCHMARKS.md S4 on this machine, all in one run.
#   bench/gateway_s4.sh [BUILD_DIR] [DATA_DIR]
# DATA_DIR defaults to ../shared/data/ml-latest-small. Starts a private
# redis-server, both workers and the gateway on free loopback ports and
# measures with tools/recsys-load (one process, loopback):
#   1. cached path: one Recommend answer repeated (from Redis after the first),
#      saturation with 32 connections, next to redis-benchmark GET of a value
#      of the same size with 32 clients;
#   2. uncached hybrid path (cache-ttl-ms 0, both workers, blend) over
#      random users: saturation, then a fixed rate of half of it (p99).
# Kills only what it started.
set -u
BUILD=${1:-build}
DATA=${2:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/ml-latest-small}
BIN=$BUILD/bin
T=$(mktemp -d /tmp/gws4.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf $T' EXIT
port() { while :; do p=$((20000 + RANDOM % 40000)); (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done; }
RP=$(port); CP=$(port); FP=$(port); GP=$(port); AP=$(port); GP2=$(port); AP2=$(port)
redis-server --port $RP --save '' --appendonly no --dir $T >/dev/null 2>&1 & PIDS+=($!)
$BIN/recsys-content serve --data "$DATA" --listen tcp://127.0.0.1:$CP --admin-port 0 2>$T/content.log & PIDS+=($!)
$BIN/recsys-cf serve --data "$DATA" --listen tcp://127.0.0.1:$FP --admin-port 0 2>$T/cf.log & PIDS+=($!)
common="--data $DATA --content-url tcp://127.0.0.1:$CP --cf-url tcp://127.0.0.1:$FP --redis-port $RP --log-level warn"
$BIN/recsys-gateway $common --port $GP --admin-port $AP 2>$T/gw.log & PIDS+=($!)
$BIN/recsys-gateway $common --port $GP2 --admin-port $AP2 --cache-ttl-ms 0 2>$T/gw2.log & PIDS+=($!)
for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$AP/readyz)" = 200 ] &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$AP2/readyz)" = 200 ] && break
    sleep 0.2
done
users=$(tail -n +2 "$DATA/ratings.csv" 2>/dev/null | cut -d, -f1 | sort -u | wc -l)
[ "$users" -gt 0 ] || users=600
size=$(curl -s "http://127.0.0.1:$GP/v1/users/1/recommendations?k=10" | wc -c)
echo "data: $DATA ($users users); answer of k=10: $size bytes"
echo "== cached path (one answer from Redis), saturation, 32 connections"
$BIN/recsys-load --port $GP --path '/v1/users/1/recommendations?k=10' --connections 32 --duration 5 --warmup 1
echo "== redis-benchmark GET, 32 clients, $size-byte value"
redis-benchmark -p $RP -t get -c 32 -d "$size" -n 200000 -q
echo "== uncached hybrid path (both workers + blend), saturation, 32 connections"
sat=$($BIN/recsys-load --port $GP2 --path '/v1/users/{n}/recommendations?k=10' --ids $users --connections 32 \
    --duration 5 --warmup 1 --json)
echo "$sat"
rps=$(echo "$sat" | sed 's/.*"rps":\([0-9]*\).*/\1/')
half=$((rps / 2))
echo "== uncached hybrid path at half of saturation ($half req/s offered), 16 connections"
$BIN/recsys-load --port $GP2 --path '/v1/users/{n}/recommendations?k=10' --ids $users --connections 16 \
    --rate $half --duration 5 --warmup 1
