#!/usr/bin/env bash
# grpc_icount.sh: the gateway's instructions per cached Recommend, gRPC (h2c)
# against Twirp protobuf over HTTP/1.1, counted by callgrind (repeatable on a
# busy machine, unlike wall time).
#   bench/grpc_icount.sh [BUILD_DIR] [DATA_DIR] [N]
# DATA_DIR defaults to ../shared/data/ml-latest-small, N (requests per
# protocol) to 20000. Starts a private redis-server and both workers
# natively, the gateway under `valgrind --tool=callgrind`; fills the cache
# with one call of each, then zeroes the counters, sends N gRPC calls
# (h2load -c8 -m1), dumps, sends N Twirp calls (h2load --h1 -c8 -m1), dumps,
# and prints the instructions per request of each (every thread of the
# gateway process). The dumps stay in OUT (S6_ICOUNT_OUT, default a temporary
# directory that is removed) for callgrind_annotate. Kills only what it
# started. Needs valgrind, h2load (nghttp2-client) and redis-server.
set -u
BUILD=${1:-build}
DATA=${2:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/ml-latest-small}
N=${3:-20000}
BIN=$BUILD/bin
for t in valgrind callgrind_control h2load redis-server; do
    command -v $t >/dev/null || { echo "grpc_icount: $t not installed"; exit 1; }
done
T=$(mktemp -d /tmp/grpcic.XXXXXX)
OUT=${S6_ICOUNT_OUT:-$T}
mkdir -p "$OUT"
source "$(dirname "$0")/stack.bash"
GP=$(bench_port); AP=$(bench_port)
bench_workers
GW_WRAP="valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file=$OUT/callgrind.out.%p" \
    bench_gateway $GP $AP
GW=$GW_PID
bench_ready $AP
printf '\n\001\061\030\n' >$T/req.pb                       # RecommendRequest{user_id: "1", k: 10}
printf '\000\000\000\000\005\n\001\061\030\n' >$T/req.grpc # the same, gRPC-framed
URL=http://127.0.0.1:$GP
grpc() { h2load -t1 -c8 -m1 -n "$1" -d $T/req.grpc -H 'content-type: application/grpc' -H 'te: trailers' \
    "$URL/recsys.v1.Recommender/Recommend"; }
twirp() { h2load --h1 -t1 -c8 -m1 -n "$1" -d $T/req.pb -H 'content-type: application/protobuf' \
    "$URL/twirp/recsys.v1.Recommender/Recommend"; }
# Warm up (fills the cache and the allocator) and check both succeed.
grpc 200 >$T/w1 2>&1; twirp 200 >$T/w2 2>&1
curl -s --http2-prior-knowledge -o /dev/null -D $T/one.h -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary @$T/req.grpc "$URL/recsys.v1.Recommender/Recommend"
grep -q '200 succeeded, 0 failed' $T/w1 && grep -q '200 succeeded, 0 failed' $T/w2 && grep -qi 'grpc-status: 0' $T/one.h ||
    { echo "grpc_icount: warm-up failed"; cat $T/one.h; tail -n 5 $T/w1 $T/w2 $T/gw-$GP.log; exit 1; }
count() { # NAME FUNC: runs N requests between a zero and a dump, prints instructions per request
    callgrind_control -z $GW >/dev/null
    $2 "$N" >$T/$1.out 2>&1
    grep -q "$N succeeded, 0 failed" $T/$1.out || { echo "grpc_icount: $1 failed"; cat $T/$1.out; exit 1; }
    callgrind_control -d "$1" $GW >/dev/null
    f=$(ls -t "$OUT"/callgrind.out.$GW.* | head -1)
    mv "$f" "$OUT/$1.callgrind"
    awk -v n="$N" -v name="$1" '/^(summary|totals):/ {print name ": " int($2 / n) " instructions/request"; exit}' \
        "$OUT/$1.callgrind"
}
count grpc grpc
count twirp twirp
