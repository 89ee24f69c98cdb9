# bench/stack.bash: the service stack the gateway benchmarks run against,
# sourced by gateway_s4.sh, grpc_s6.sh and grpc_icount.sh. Needs BIN (the
# binaries), DATA (a dataset) and T (a scratch directory) set.
#
#   bench_port                a free loopback port
#   bench_workers             Redis, the content and the CF worker on free
#                             ports: RP, CP, FP; logs in $T
#   bench_gateway PORT ADMIN [FLAGS...]
#                             a gateway on those ports against them (FLAGS
#                             added; GW_WRAP, if set, is run before it, e.g.
#                             valgrind); its pid in GW_PID
#   bench_ready ADMIN...      waits until each admin port's /readyz is 200
#                             (BENCH_READY_SECONDS, default 300); exits 1
#                             naming the port when one is not
# Every process started is in PIDS and is killed on exit with $T removed.
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

bench_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
    done
}

bench_workers() {
    RP=$(bench_port); CP=$(bench_port); FP=$(bench_port)
    redis-server --port $RP --save '' --appendonly no --dir "$T" >/dev/null 2>&1 & PIDS+=($!)
    $BIN/recsys-content serve --data "$DATA" --listen tcp://127.0.0.1:$CP --admin-port 0 2>"$T/content.log" & PIDS+=($!)
    $BIN/recsys-cf serve --data "$DATA" --listen tcp://127.0.0.1:$FP --admin-port 0 2>"$T/cf.log" & PIDS+=($!)
}

bench_gateway() {
    local port=$1 admin=$2
    shift 2
    ${GW_WRAP:-} $BIN/recsys-gateway --data "$DATA" --content-url tcp://127.0.0.1:$CP --cf-url tcp://127.0.0.1:$FP \
        --redis-port $RP --log-level warn --port "$port" --admin-port "$admin" "$@" 2>"$T/gw-$port.log" &
    GW_PID=$!
    PIDS+=($GW_PID)
}

bench_ready() {
    local a i
    for a in "$@"; do
        for i in $(seq $((${BENCH_READY_SECONDS:-300} * 5))); do
            [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$a/readyz)" = 200 ] && continue 2
            sleep 0.2
        done
        echo "bench: the gateway on admin port $a is not ready: $(curl -s http://127.0.0.1:$a/readyz)" >&2
        exit 1
    done
}
