#!/usr/bin/env bash
# trace_logs.sh: W3C trace context across the three processes. A request
# with a traceparent (HTTP/1.1 header, then gRPC metadata over h2c) is
# answered with a traceparent of the same trace, and that trace id appears
# in the logs of the gateway, the content worker and the CF worker (access
# logs on). A request without one starts a new trace, also returned and logged.
set -uo pipefail
source "$(dirname "$0")/gateway_env.bash"
have_workers || skip "worker binaries not built"
WORKER_FLAGS="--access-log"
GW_FLAGS="--http-access-log"
start_redis
start_content
start_cf
start_gateway
wait_ready

TRACE=4bf92f3577b34da6a3ce929d0e0e4736
curl -s -D "$T/h1" -o "$T/b1" -H "traceparent: 00-$TRACE-00f067aa0ba902b7-01" \
    "$GW/v1/users/7/recommendations?k=3" || fail "curl"
grep -qi "^traceparent: 00-$TRACE-[0-9a-f]\{16\}-01" "$T/h1" || fail "answer's traceparent: $(grep -i traceparent "$T/h1")"
grep -qi "traceparent: 00-$TRACE-00f067aa0ba902b7" "$T/h1" && fail "the answer must carry the gateway's own span id"
sleep 0.3
for svc in gateway content cf; do
    grep "\"trace_id\":\"$TRACE\"" "$T/$svc.log" >/dev/null || fail "$svc log has no line with trace_id $TRACE"
done
ok "HTTP/1.1 traceparent: answered in the same trace, trace_id in the gateway, content and cf logs"
line=$(grep "\"msg\":\"access\".*$TRACE" "$T/gateway.log")
for f in '"route":"/v1/users/{id}/recommendations"' '"status":200' '"duration_ms":' '"cache":"miss"'; do
    grep -qF "$f" <<<"$line" || fail "access log line lacks $f: $line"
done
ok "gateway access log: route, status, duration, cache, trace id"

# gRPC metadata (h2c): nghttp sends one framed GetItem request.
if command -v nghttp >/dev/null; then
    T2=0af7651916cd43dd8448eb211c80319c
    printf '\0\0\0\0\x0e\x0a\x0cthe-kid-1921' >"$T/get.req"
    nghttp -v -d "$T/get.req" -H 'content-type: application/grpc' -H 'te: trailers' \
        -H "traceparent: 00-$T2-b7ad6b7169203331-01" \
        "http://127.0.0.1:$GW_PORT/recsys.v1.Recommender/GetItem" >"$T/h2" 2>&1 || fail "nghttp: $(tail -5 "$T/h2")"
    grep -q "traceparent: 00-$T2-" "$T/h2" || fail "gRPC answer has no traceparent of trace $T2"
    grep -q "grpc-status: 0" "$T/h2" || fail "gRPC GetItem: $(grep grpc- "$T/h2")"
    sleep 0.2
    grep "\"trace_id\":\"$T2\"" "$T/gateway.log" | grep -q '"protocol":"h2"' || fail "gRPC call not logged with its trace"
    ok "gRPC traceparent metadata: answered in the same trace, access log line protocol h2"
fi

# No traceparent: a new trace, returned and logged.
curl -s -D "$T/h3" -o /dev/null "$GW/v1/items/the-kid-1921/similar?k=3" || fail "curl"
new=$(grep -i '^traceparent:' "$T/h3" | cut -d- -f2)
[ ${#new} -eq 32 ] || fail "no new trace in $(cat "$T/h3")"
sleep 0.3
for svc in gateway content cf; do
    grep -q "\"trace_id\":\"$new\"" "$T/$svc.log" || fail "$svc log lacks the new trace $new"
done
ok "without traceparent: new trace $new returned and in all three logs"
