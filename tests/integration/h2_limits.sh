#!/usr/bin/env bash
# h2_limits.sh: the gateway's HTTP/2 (h2c) connection behaviour seen with raw
# frames (h2_raw.py): SETTINGS, PING, idle, header and stalled-reader timeouts, header list
# limit. Only the gateway runs (no worker is needed for these).
set -uo pipefail
source "$(dirname "$0")/gateway_env.bash"
HERE=$(cd "$(dirname "$0")" && pwd)
start_redis
GW_FLAGS="--http-idle-timeout-ms 1000 --http-header-timeout-ms 800 --http-write-timeout-ms 500"
start_gateway
python3 "$HERE/h2_raw.py" "$GW_PORT" 1000 800 || fail "h2_raw.py"
# The status of that refusal, decoded by nghttp: RESOURCE_EXHAUSTED.
if command -v nghttp >/dev/null; then
    args=()
    for i in $(seq 120); do args+=(-H "x-pad-$i: $(printf 'v%.0s' $(seq 100))"); done
    printf '\0\0\0\0\0' >"$T/empty.req"
    nghttp -v -d "$T/empty.req" -H 'content-type: application/grpc' -H 'te: trailers' "${args[@]}" \
        "http://127.0.0.1:$GW_PORT/recsys.v1.Recommender/GetItem" >"$T/big.out" 2>&1
    grep -aq 'grpc-status: 8' "$T/big.out" || fail "oversized header list: $(grep -a grpc- "$T/big.out")"
    ok "120 extra header fields (over http-max-headers 100): grpc-status 8 RESOURCE_EXHAUSTED"
    # Counted as the HTTP/1.1 parser's refusals are: route "invalid".
    curl -s "http://127.0.0.1:$GW_ADMIN/metrics" | grep -q '^recsys_http_requests_total{route="invalid",code="431"} [1-9]' ||
        fail "the h2 refusal is not counted: $(curl -s "http://127.0.0.1:$GW_ADMIN/metrics" | grep 'route="invalid"')"
    ok "the refusal is counted in recsys_http_requests_total{route=\"invalid\",code=\"431\"}"
fi
