# gateway_env.bash: shared set-up of the gateway integration tests (sourced
# by gateway_*.sh; not a test itself). Starts a private redis-server, the
# content and CF workers and the gateway as real processes on free loopback
# ports over demo data, and kills exactly the processes it started (by pid)
# on exit. A missing worker binary is a skip (77) for tests that need it.

BIN=${RECSYS_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
TMPBASE=${RECSYS_TEST_TMP:-/tmp}
mkdir -p "$TMPBASE"
T=$(mktemp -d "$TMPBASE/gateway.XXXXXX")
PIDS=()

fail() { echo "FAIL: $*" >&2; for f in "$T"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok - $*"; }

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

for tool in curl redis-server redis-cli; do
    command -v $tool >/dev/null || skip "$tool not installed"
done
[ -x "$BIN/recsys-gateway" ] || skip "no $BIN/recsys-gateway"
[ -x "$BIN/recsys-gen" ] || skip "no $BIN/recsys-gen"

source "$(dirname "${BASH_SOURCE[0]}")/free_port.bash"

# metric_sum ADMIN_PORT NAME: the sum of the samples of NAME (a prefix, labels
# included) on that admin port's /metrics.
metric_sum() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" 'index($1, m) == 1 {s += $2} END {print s + 0}'; }

"$BIN/recsys-gen" demo --out "$T/data" 2>"$T/gen.log" || fail "recsys-gen demo"

REDIS_PORT=$(free_port)
CONTENT_PORT=$(free_port)
CF_PORT=$(free_port)
GW_PORT=$(free_port)
GW_ADMIN=$(free_port)
GW="http://127.0.0.1:$GW_PORT"
TW="$GW/twirp/recsys.v1.Recommender"

start_redis() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
        >>"$T/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=($REDIS_PID)
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
    fail "redis did not start"
}

have_workers() { [ -x "$BIN/recsys-content" ] && [ -x "$BIN/recsys-cf" ]; }

start_content() {
    "$BIN/recsys-content" serve --data "$T/data" --listen "tcp://127.0.0.1:$CONTENT_PORT" --admin-port 0 ${WORKER_FLAGS:-} \
        2>>"$T/content.log" &
    CONTENT_PID=$!
    PIDS+=($CONTENT_PID)
}

start_cf() {
    "$BIN/recsys-cf" serve --data "$T/data" --listen "tcp://127.0.0.1:$CF_PORT" --admin-port 0 ${WORKER_FLAGS:-} \
        2>>"$T/cf.log" &
    CF_PID=$!
    PIDS+=($CF_PID)
}

# Extra gateway flags in GW_FLAGS; GW_WRAP (unquoted words) runs before the
# gateway's command, e.g. "env VAR=..."; CONTENT_URL (default tcp://127.0.0.1:$CONTENT_PORT)
# replaces the content worker's URL(s), e.g. replicas comma-separated; CF_URL
# the CF worker's.
# A port taken by another process between free_port and the bind makes the
# gateway exit at once ("address already in use"): retry on fresh ports.
start_gateway() {
    local attempt
    for attempt in 1 2 3 4 5; do
        ${GW_WRAP:-} "$BIN/recsys-gateway" --data "$T/data" --port "$GW_PORT" --admin-port "$GW_ADMIN" \
            --content-url "${CONTENT_URL:-tcp://127.0.0.1:$CONTENT_PORT}" --cf-url "${CF_URL:-tcp://127.0.0.1:$CF_PORT}" \
            --redis-host "${REDIS_HOST:-127.0.0.1}" --redis-port "$REDIS_PORT" --worker-poll-ms 200 ${GW_FLAGS:-} 2>>"$T/gateway.log" &
        GW_PID=$!
        PIDS+=($GW_PID)
        for _ in $(seq 100); do
            curl -s -o /dev/null "http://127.0.0.1:$GW_ADMIN/healthz" && return
            kill -0 "$GW_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$GW_PID" 2>/dev/null && break
        grep -q "address already in use" "$T/gateway.log" || break
        echo "gateway port clash (attempt $attempt): retrying on new ports"
        GW_PORT=$(free_port)
        GW_ADMIN=$(free_port)
        GW="http://127.0.0.1:$GW_PORT"
        TW="$GW/twirp/recsys.v1.Recommender"
        : >"$T/gateway.log"
    done
    fail "gateway did not start"
}

wait_ready() { # up to 120 s: models train at start-up (slow under ASan)
    for _ in $(seq 1200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_ADMIN/readyz")" = 200 ] && return
        sleep 0.1
    done
    fail "gateway not ready: $(curl -s "http://127.0.0.1:$GW_ADMIN/readyz")"
}

# code BODYFILE METHOD URL [curl args...]: prints the HTTP status.
req() {
    local out=$1 method=$2 url=$3
    shift 3
    curl -s -o "$out" -w '%{http_code}' -X "$method" "$url" "$@"
}

# JSON field check without jq: grep a fragment.
has() { grep -q -- "$2" "$1" || fail "$3: '$2' not in $(head -c 400 "$1")"; }
