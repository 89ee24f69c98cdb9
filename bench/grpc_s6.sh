#!/usr/bin/env bash
# grpc_s6.sh: BENCHMARKS.md S6 on this machine, all in one run.
#   bench/grpc_s6.sh [BUILD_DIR] [DATA_DIR] [RUNS]
# DATA_DIR defaults to ../shared/data/ml-latest-small, RUNS to 3. Starts a
# private redis-server, both workers and two gateways (cached, and
# cache-ttl-ms 0) on free loopback ports. Every measurement sends the same
# Recommend (user 1, k=10) at the same concurrency, 32 connections with one
# request in flight each, for S6_SECONDS (default 5):
#   gRPC        h2load -c32 -m1 with the length-prefixed protobuf body
#   Twirp pb    wrk -t1 -c32, POST of the same protobuf body (application/protobuf)
#   REST        wrk -t1 -c32, GET /v1/users/1/recommendations?k=10 (JSON)
# on the cached gateway, then the Twirp/gRPC pair on the uncached one (both
# workers and the blend on every call), interleaved RUNS times so every
# figure of a run sees the same machine. Prints every run and the medians as
# a Markdown table. Kills only what it started. Needs h2load
# (nghttp2-client), wrk and /usr/bin/python3 (to write the bodies).
set -u
BUILD=${1:-build}
DATA=${2:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/ml-latest-small}
RUNS=${3:-3}
SECS=${S6_SECONDS:-5}
BIN=$BUILD/bin
for t in h2load wrk redis-server; do command -v $t >/dev/null || { echo "grpc_s6: $t not installed"; exit 1; }; done
T=$(mktemp -d /tmp/grpcs6.XXXXXX)
source "$(dirname "$0")/stack.bash"
GP=$(bench_port); AP=$(bench_port); GP2=$(bench_port); AP2=$(bench_port)
bench_workers
bench_gateway $GP $AP
bench_gateway $GP2 $AP2 --cache-ttl-ms 0
bench_ready $AP $AP2
# The protobuf RecommendRequest{user_id: "1", k: 10}, framed for gRPC, and
# the same bytes as a Lua string for wrk.
/usr/bin/python3 - "$T" <<'EOF'
import sys
t = sys.argv[1]
msg = b"\x0a\x011\x18\x0a"  # user_id "1" (field 1), k 10 (field 3)
open(t + "/req.pb", "wb").write(msg)
open(t + "/req.grpc", "wb").write(b"\0" + len(msg).to_bytes(4, "big") + msg)
lua = "".join("\\%d" % b for b in msg)
open(t + "/twirp.lua", "w").write('wrk.method = "POST"\nwrk.body = "%s"\n'
                                  'wrk.headers["Content-Type"] = "application/protobuf"\n' % lua)
EOF
# One call of each, checked: gRPC status 0 and the same protobuf as Twirp.
curl -s --http2-prior-knowledge -o $T/one.grpc -D $T/one.h -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary @$T/req.grpc "http://127.0.0.1:$GP/recsys.v1.Recommender/Recommend"
grep -qi 'grpc-status: 0' $T/one.h || { echo "grpc_s6: the gRPC call failed: $(cat $T/one.h)"; exit 1; }
size=$(($(wc -c <$T/one.grpc) - 5))
echo "data: $DATA; Recommend user 1 k=10: $size bytes of protobuf; $RUNS runs of ${SECS} s, 32 connections, 1 in flight each"
# snap ADMIN_PORT: "cpu_seconds requests" of a gateway, from its /metrics.
snap() { curl -s "http://127.0.0.1:$1/metrics" | awk '$1 == "process_cpu_seconds_total" {c = $2}
    /^recsys_http_requests_total/ {n += $2} END {printf "%s %d\n", c, n}'; }
# h2_line OUT: "req/s mean_ms failed" from h2load; wrk_line OUT: "req/s mean_ms errors" from wrk.
h2_line() {
    awk '/^finished in/ {r = $4} /^requests:/ {f = $10 + $12}
         /^time for request:/ { m = $6; if (m ~ /us$/) m = m / 1000; else if (m ~ /ms$/) m = m + 0; else if (m ~ /s$/) m = m * 1000 }
         END {printf "%.0f %.3f %d\n", r, m, f}' "$1"
}
wrk_line() {
    awk '/Requests\/sec/ {r = $2} /^    Latency/ {m = $2; if (m ~ /us$/) m = m / 1000; else if (m ~ /ms$/) m = m + 0; else if (m ~ /s$/) m = m * 1000}
         /Non-2xx|Socket errors/ {e++} END {printf "%.0f %.3f %d\n", r, m, e}' "$1"
}
grpc() { h2load -t1 -c32 -m1 -D $SECS --warm-up-time=1 -d $T/req.grpc -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$1/recsys.v1.Recommender/Recommend" >$T/h2.out 2>&1; h2_line $T/h2.out; }
twirp() { wrk -t1 -c32 -d${SECS}s -s $T/twirp.lua "http://127.0.0.1:$1/twirp/recsys.v1.Recommender/Recommend" \
    >$T/wrk.out 2>&1; wrk_line $T/wrk.out; }
twirp_h1() { h2load --h1 -t1 -c32 -m1 -D $SECS --warm-up-time=1 -d $T/req.pb -H 'content-type: application/protobuf' \
    "http://127.0.0.1:$1/twirp/recsys.v1.Recommender/Recommend" >$T/h2.out 2>&1; h2_line $T/h2.out; }
rest() { wrk -t1 -c32 -d${SECS}s "http://127.0.0.1:$1/v1/users/1/recommendations?k=10" >$T/wrk.out 2>&1
    wrk_line $T/wrk.out; }
: >$T/rows
for run in $(seq "$RUNS"); do
    echo "== run $run (req/s, mean ms, failures, gateway CPU us/request)"
    for m in "cached_grpc grpc $GP $AP" "cached_twirp twirp $GP $AP" "cached_h1 twirp_h1 $GP $AP" \
        "cached_rest rest $GP $AP" "uncached_grpc grpc $GP2 $AP2" "uncached_twirp twirp $GP2 $AP2" \
        "uncached_h1 twirp_h1 $GP2 $AP2"; do
        set -- $m
        s0=$(snap $4)
        l=$($2 $3)
        s1=$(snap $4)
        # the gateway's own CPU per request served: the server's cost, whatever the client's
        us=$(echo "$s0 $s1" | awk '{d = $4 - $2; printf "%.1f", (d > 0 ? ($3 - $1) * 1e6 / d : 0)}')
        echo "$1: $l $us"
        echo "$1 $l $us" >>$T/rows
    done
done
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
med() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' $T/rows | median; }
echo
echo "| path | client | req/s | mean ms | gateway CPU us/req | failures |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for k in cached_grpc cached_twirp cached_h1 cached_rest uncached_grpc uncached_twirp uncached_h1; do
    case $k in *grpc) c="h2load -c32 -m1" ;; *h1) c="h2load --h1 -c32 -m1" ;; *) c="wrk -t1 -c32" ;; esac
    case $k in *grpc) p="gRPC h2c" ;; *twirp | *h1) p="Twirp protobuf HTTP/1.1" ;; *) p="REST JSON HTTP/1.1" ;; esac
    echo "| ${k%%_*} $p | $c | $(med $k 2) | $(med $k 3) | $(med $k 5) | $(awk -v k=$k '$1 == k {s += $4} END {print s + 0}' $T/rows) |"
done
cg=$(med cached_grpc 2); ct=$(med cached_twirp 2); ug=$(med uncached_grpc 2); ut=$(med uncached_twirp 2)
ch=$(med cached_h1 2); uh=$(med uncached_h1 2)
awk -v a=$cg -v b=$ct -v c=$ug -v d=$ut -v e=$ch -v f=$uh 'BEGIN {
    printf "\ngRPC/Twirp (wrk) cached: %.2f (target >= 1); uncached: %.2f (target >= 0.90)\n", a / b, c / d
    printf "gRPC/Twirp (same client, h2load) cached: %.2f; uncached: %.2f\n", a / e, c / f }'
cu=$(med cached_grpc 5); tu=$(med cached_h1 5); uu=$(med uncached_grpc 5); vu=$(med uncached_h1 5)
awk -v a=$cu -v b=$tu -v c=$uu -v d=$vu 'BEGIN {
    printf "gateway CPU per request, gRPC/Twirp: cached %.2f, uncached %.2f\n", a / b, c / d }'
