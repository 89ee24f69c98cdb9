#!/usr/bin/env bash
# gateway_s4.sh: BENCHMARKS.md S4 on this machine, all in one run.
#   bench/gateway_s4.sh [BUILD_DIR] [DATA_DIR] [RUNS]
# DATA_DIR defaults to ../shared/data/ml-latest-small, RUNS to 3. Starts a
# private redis-server, both workers and two gateways (cached, and
# cache-ttl-ms 0) on free loopback ports, then RUNS times, interleaved so
# every figure of a run sees the same machine:
#   1. cached path: one Recommend answer repeated (from Redis after the
#      first), saturation with 32 connections: tools/recsys-load (one
#      thread) and wrk -t1 -c32, next to redis-benchmark GET of a value of
#      the same size with 32 clients;
#   2. uncached hybrid path (both workers, blend) over random users:
#      saturation (recsys-load and wrk -t1 -c32 with a random-user script),
#      then a fixed rate of half of recsys-load's saturation (p99).
# Prints every run and the medians as a Markdown table. Kills only what it
# started. wrk is optional (its rows are skipped without it).
set -u
BUILD=${1:-build}
DATA=${2:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/ml-latest-small}
RUNS=${3:-3}
SECS=${S4_SECONDS:-5}
BIN=$BUILD/bin
T=$(mktemp -d /tmp/gws4.XXXXXX)
source "$(dirname "$0")/stack.bash"
GP=$(bench_port); AP=$(bench_port); GP2=$(bench_port); AP2=$(bench_port)
bench_workers
bench_gateway $GP $AP
bench_gateway $GP2 $AP2 --cache-ttl-ms 0
bench_ready $AP $AP2
users=$(tail -n +2 "$DATA/ratings.csv" 2>/dev/null | cut -d, -f1 | sort -u | wc -l)
[ "$users" -gt 0 ] || users=600
size=$(curl -s "http://127.0.0.1:$GP/v1/users/1/recommendations?k=10" | wc -c)
echo "data: $DATA ($users users); answer of k=10: $size bytes; $RUNS runs of ${SECS} s"
cat >$T/rnd.lua <<EOF
request = function() return wrk.format("GET", "/v1/users/" .. math.random(1, $users) .. "/recommendations?k=10") end
EOF
have_wrk=0; command -v wrk >/dev/null && have_wrk=1
# jv JSON KEY: a number from recsys-load's --json line.
jv() { echo "$1" | sed "s/.*\"$2\":\([0-9.]*\).*/\1/"; }
# wrk_line OUT: "req/s p50 p90 p99" from wrk --latency output (ms).
wrk_line() {
    awk '/Requests\/sec/ {r = $2}
         function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
         $1 == "50%" {p50 = ms($2)} $1 == "90%" {p90 = ms($2)} $1 == "99%" {p99 = ms($2)}
         END {printf "%.0f %.3f %.3f %.3f\n", r, p50, p90, p99}' "$1"
}
: >$T/rows
for run in $(seq "$RUNS"); do
    echo "== run $run"
    o=$($BIN/recsys-load --port $GP --path '/v1/users/1/recommendations?k=10' --connections 32 \
        --duration $SECS --warmup 1 --json)
    echo "cached, recsys-load closed 32: $o"
    echo "cached_load $(jv "$o" rps) $(jv "$o" p50_ms) $(jv "$o" p90_ms) $(jv "$o" p99_ms) $(jv "$o" p999_ms) $(( $(jv "$o" errors) + $(jv "$o" non2xx) ))" >>$T/rows
    if [ $have_wrk = 1 ]; then
        wrk -t1 -c32 -d${SECS}s --latency "http://127.0.0.1:$GP/v1/users/1/recommendations?k=10" >$T/wrk.out
        echo "cached, wrk -t1 -c32: $(wrk_line $T/wrk.out) (req/s p50 p90 p99)"
        echo "cached_wrk $(wrk_line $T/wrk.out) - $(grep -c 'Non-2xx\|Socket errors' $T/wrk.out)" >>$T/rows
    fi
    r=$(redis-benchmark -p $RP -t get -c 32 -d "$size" -n 300000 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1)
    echo "redis-benchmark GET -c 32 -d $size: $r"
    echo "redis $(echo "$r" | sed 's/.*GET: \([0-9.]*\) requests.*p50=\([0-9.]*\).*/\1 \2/') - - - 0" >>$T/rows
    sat=$($BIN/recsys-load --port $GP2 --path '/v1/users/{n}/recommendations?k=10' --ids $users --connections 32 \
        --duration $SECS --warmup 1 --json)
    echo "uncached, recsys-load closed 32: $sat"
    echo "uncached_load $(jv "$sat" rps) $(jv "$sat" p50_ms) $(jv "$sat" p90_ms) $(jv "$sat" p99_ms) $(jv "$sat" p999_ms) $(( $(jv "$sat" errors) + $(jv "$sat" non2xx) ))" >>$T/rows
    if [ $have_wrk = 1 ]; then
        wrk -t1 -c32 -d${SECS}s --latency -s $T/rnd.lua "http://127.0.0.1:$GP2" >$T/wrk.out
        echo "uncached, wrk -t1 -c32 random users: $(wrk_line $T/wrk.out)"
        echo "uncached_wrk $(wrk_line $T/wrk.out) - $(grep -c 'Non-2xx\|Socket errors' $T/wrk.out)" >>$T/rows
    fi
    half=$(( $(jv "$sat" rps) / 2 ))
    o=$($BIN/recsys-load --port $GP2 --path '/v1/users/{n}/recommendations?k=10' --ids $users --connections 16 \
        --rate $half --duration $SECS --warmup 1 --json)
    echo "uncached at $half req/s (half), open loop 16: $o"
    echo "uncached_half $(jv "$o" rps) $(jv "$o" p50_ms) $(jv "$o" p90_ms) $(jv "$o" p99_ms) $(jv "$o" p999_ms) $(( $(jv "$o" errors) + $(jv "$o" non2xx) ))" >>$T/rows
done
echo
echo "Medians of $RUNS runs (each column's own median; errors summed):"
echo "| row | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for k in cached_load cached_wrk redis uncached_load uncached_wrk uncached_half; do
    grep -q "^$k " $T/rows || continue
    line="| $k"
    for col in 2 3 4 5 6; do
        m=$(awk -v k=$k -v c=$col '$1 == k {print $c}' $T/rows | grep -v '^-$' | sort -g |
            awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print ""}')
        line="$line | $m"
    done
    e=$(awk -v k=$k '$1 == k && $7 != "-" {s += $7} END {print s + 0}' $T/rows)
    echo "$line | $e |"
done
