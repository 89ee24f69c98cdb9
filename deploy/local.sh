#!/usr/bin/env bash
# deploy/local.sh: the quick start. Runs the whole system on this machine, on
# loopback: a private redis-server, the content and CF workers and the gateway,
# as ordinary background processes whose pids, ports and logs live in a state
# directory, so `down` stops exactly what `up` started and two copies (two
# RECSYS_HTTP_PORT values) never collide.
#
# Usage: deploy/local.sh up|down|status|examples [options]
#   up         install packages (deploy/install-deps.sh), build (release, build/),
#              write the demo data, start everything, wait until every /readyz
#              answers 200, print the web page's URL, then example calls
#              (each one tried once)
#   down       SIGTERM each started process (gateway, workers, redis), wait
#              for it to exit (SIGKILL after RECSYS_STOP_TIMEOUT seconds)
#   status     each process: pid, alive, /readyz
#   examples   print the example calls again (and try them)
# Options (each also an environment variable):
#   --data DIR        RECSYS_DATA        serve this MovieLens/TMDB/plain dataset
#                                        instead of the demo data
#   --tmdb DIR        RECSYS_TMDB        join this TMDB 5000 directory onto a
#                                        MovieLens CSV --data (links.csv tmdbId)
#   --tmdb-tags FILE  RECSYS_TMDB_TAGS   the notebook's processed_movies.csv:
#                                        cast and director for the join when
#                                        the TMDB directory has no credits file
#   --no-install      RECSYS_NO_INSTALL=1  never call apt-get
#   --bin-dir DIR     RECSYS_BIN_DIR     use these binaries, do not build
#   --build-dir DIR   RECSYS_BUILD_DIR   build here (default: build/)
#   --state DIR       RECSYS_STATE_DIR   pids, ports, logs, data, Redis AOF
#                                        (default: build/local/<http port>)
#   --port N          RECSYS_HTTP_PORT   gateway HTTP port (default 8080)
#   RECSYS_READY_TIMEOUT  seconds to wait for readiness (default 300)
#   RECSYS_STOP_TIMEOUT   seconds to wait for each process to stop (default 20)
# The other ports (gateway admin, workers' nng and admin, Redis) are free
# ports picked at `up` and recorded in STATE/ports.env.
# Exit status: 0 ok; 1 failure (message names the process, log tail shown);
# 2 usage; 3 a binary or one of its commands does not exist (yet).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG="deploy/local.sh"

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

cmd=""
data=${RECSYS_DATA:-}
tmdb=${RECSYS_TMDB:-}
tmdb_tags=${RECSYS_TMDB_TAGS:-}
no_install=${RECSYS_NO_INSTALL:-0}
bin_dir=${RECSYS_BIN_DIR:-}
build_dir=${RECSYS_BUILD_DIR:-$REPO/build}
state=${RECSYS_STATE_DIR:-}
http_port=${RECSYS_HTTP_PORT:-8080}
ready_timeout=${RECSYS_READY_TIMEOUT:-300}
stop_timeout=${RECSYS_STOP_TIMEOUT:-20}

while [ $# -gt 0 ]; do
    case "$1" in
        up|down|status|examples) cmd=$1 ;;
        --data) data=${2:?--data needs a directory}; shift ;;
        --data=*) data=${1#*=} ;;
        --tmdb) tmdb=${2:?--tmdb needs a directory}; shift ;;
        --tmdb=*) tmdb=${1#*=} ;;
        --tmdb-tags) tmdb_tags=${2:?--tmdb-tags needs a file}; shift ;;
        --tmdb-tags=*) tmdb_tags=${1#*=} ;;
        --no-install) no_install=1 ;;
        --bin-dir) bin_dir=${2:?--bin-dir needs a directory}; shift ;;
        --bin-dir=*) bin_dir=${1#*=} ;;
        --build-dir) build_dir=${2:?--build-dir needs a directory}; shift ;;
        --build-dir=*) build_dir=${1#*=} ;;
        --state) state=${2:?--state needs a directory}; shift ;;
        --state=*) state=${1#*=} ;;
        --port) http_port=${2:?--port needs a number}; shift ;;
        --port=*) http_port=${1#*=} ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$PROG: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[ -n "$cmd" ] || { usage >&2; exit 2; }
case "$http_port" in '' | *[!0-9]*) echo "$PROG: bad HTTP port '$http_port'" >&2; exit 2 ;; esac
[ -n "$state" ] || state=$REPO/build/local/$http_port
[ -n "$bin_dir" ] || bin_dir=$build_dir/bin

# Components in start order (CF is left out for a catalog without ratings).
COMPONENTS=(redis content cf gateway)
components() {
    if [ "${CATALOG_ONLY:-0}" = 1 ]; then COMPONENTS=(redis content gateway); else COMPONENTS=(redis content cf gateway); fi
}

# ------------------------------------------------------------------ helpers

# A TCP port no socket uses now, in any state (a connect test misses ports
# bound by outgoing connections), below the kernel's ephemeral range so that
# no outgoing connection takes it between now and the bind.
port_in_use() {
    local hex
    hex=$(printf ':%04X ' "$1")
    grep -q "^ *[0-9]*: [0-9A-F]*$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
taken=" "
free_port() {
    local p lo=20000 hi
    hi=$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [ -n "$hi" ] && [ "$hi" -gt $((lo + 1000)) ] || hi=60999
    while :; do
        p=$((lo + RANDOM % (hi - lo)))
        case "$taken" in *" $p "*) continue ;; esac
        port_in_use "$p" && continue
        taken="$taken$p "
        echo "$p"
        return
    done
}

# http_code URL: the status code, 000 when nothing answers.
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true; }

pid_of() { cat "$state/$1.pid" 2>/dev/null; }

# alive NAME: the recorded pid runs, and is still the program we started
# (a recycled pid is not ours to signal).
alive() {
    local pid exe
    pid=$(pid_of "$1") || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    exe=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    case "$1" in
        redis) [[ "$exe" == *redis-server* ]] ;;
        *) [[ "$exe" == *recsys-* ]] ;;
    esac
}

log_tail() {
    echo "---- last lines of $state/$1.log:" >&2
    tail -n "${2:-20}" "$state/$1.log" >&2 2>/dev/null || echo "(no log)" >&2
}

# start NAME CMD...: background process in its own session (a Ctrl-C in the
# calling terminal does not reach it), output appended to NAME.log.
start() {
    local name=$1
    shift
    echo "=== $(date -u +%FT%TZ) $*" >>"$state/$name.log"
    setsid "$@" >>"$state/$name.log" 2>&1 </dev/null &
    echo $! >"$state/$name.pid"
}

admin_url() {
    case "$1" in
        content) echo "http://127.0.0.1:$CONTENT_ADMIN" ;;
        cf) echo "http://127.0.0.1:$CF_ADMIN" ;;
        gateway) echo "http://127.0.0.1:$GW_ADMIN" ;;
    esac
}

ready() {
    case "$1" in
        redis) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG ;;
        gateway) if [ "${CATALOG_ONLY:-0}" = 1 ]; then
                # /readyz waits for both workers: here, the content worker seen up is ready
                curl -s -m 5 "$(admin_url "$1")/metrics" 2>/dev/null |
                    grep -q '^recsys_gateway_worker_up{worker="content"} 1'
            else
                [ "$(http_code "$(admin_url "$1")/readyz")" = 200 ]
            fi ;;
        *) [ "$(http_code "$(admin_url "$1")/readyz")" = 200 ] ;;
    esac
}

load_ports() {
    [ -f "$state/ports.env" ] || return 1
    # shellcheck disable=SC1091
    . "$state/ports.env"
}

# need BIN [CMD]: the binary exists and knows the command (its --help exits 0).
need() {
    local b=$bin_dir/$1
    if [ ! -x "$b" ]; then
        echo "$PROG: $b does not exist (is it built? its issue may not be done yet)" >&2
        exit 3
    fi
    if ! "$b" ${2:+"$2"} --help >/dev/null 2>&1; then
        echo "$PROG: '$1${2:+ $2}' does not exist yet ($b ${2:+$2 }--help fails): cannot start it" >&2
        exit 3
    fi
}

# ------------------------------------------------------------------ down

# stop NAME...: SIGTERM to each that still runs, then wait for all of them
# (SIGKILL after stop_timeout). The gateway goes first (it stops taking
# requests), then both workers at once (they drain), Redis last (it writes
# its AOF).
stop() {
    local name pid i e sent=()
    for name in "$@"; do
        pid=$(pid_of "$name") || continue
        if alive "$name"; then
            kill -TERM "$pid" 2>/dev/null && sent+=("$name:$pid")
        else
            rm -f "$state/$name.pid"
        fi
    done
    for ((i = 0; i < stop_timeout * 10; i++)); do
        local any=0
        for e in "${sent[@]}"; do kill -0 "${e#*:}" 2>/dev/null && any=1; done
        [ $any = 0 ] && break
        sleep 0.1
    done
    for e in "${sent[@]}"; do
        name=${e%%:*} pid=${e#*:}
        if kill -0 "$pid" 2>/dev/null; then
            echo "$PROG: $name (pid $pid) ignored SIGTERM for ${stop_timeout}s: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null
            sleep 0.2
        fi
        echo "stopped $name (pid $pid)"
        rm -f "$state/$name.pid"
    done
}

do_down() {
    [ -d "$state" ] || { echo "nothing to stop ($state does not exist)"; return 0; }
    stop gateway
    stop content cf
    stop redis
}

# ------------------------------------------------------------------ status

do_status() {
    local name pid st
    load_ports || { echo "not running ($state/ports.env missing)"; return 3; }
    components
    local running=0
    for name in "${COMPONENTS[@]}"; do
        pid=$(pid_of "$name")
        if alive "$name"; then
            running=$((running + 1))
            if ready "$name"; then st=ready; else st="not ready"; fi
            echo "$name: pid $pid, $st"
        else
            echo "$name: not running"
        fi
    done
    echo "web page: http://127.0.0.1:$HTTP_PORT/"
    echo "gateway: http://127.0.0.1:$HTTP_PORT  (admin http://127.0.0.1:$GW_ADMIN)  state: $state"
    [ "$running" = "${#COMPONENTS[@]}" ]
}

# ------------------------------------------------------------------ examples

# try DESCRIPTION CURL-ARGS...: prints the command, runs it, shows the status
# and the start of the answer.
try() {
    local what=$1 code
    shift
    echo
    echo "# $what"
    local a line="curl -s"
    for a in "$@"; do
        if [[ "$a" =~ ^[A-Za-z0-9_./:=-]+$ ]]; then line="$line $a"; else line="$line '$a'"; fi
    done
    echo "$line"
    code=$(curl -s -m 10 -o "$state/example.out" -w '%{http_code}' "$@")
    echo "  -> HTTP $code: $(head -c 240 "$state/example.out")..."
    [ "$code" = 200 ]
}

do_examples() {
    load_ports || die "not running ($state/ports.env missing): run '$PROG up'"
    local gw="http://127.0.0.1:$HTTP_PORT" user=1 item q=the bad=0
    # A film everybody knows in the demo catalog; for another dataset, the
    # first film recommended to user 1.
    if [ "$(http_code "$gw/v1/items/the-kid-1921")" = 200 ]; then
        item=the-kid-1921
        q=godfather
    else
        item=$(curl -s -m 10 "$gw/v1/users/$user/recommendations?k=1" | grep -o '"item_id":"[^"]*"' | head -n1 |
            sed 's/.*:"//; s/"$//')
        [ -n "$item" ] || item=1
    fi
    echo "Example calls (gateway $gw; Twirp JSON/protobuf under /twirp/recsys.v1.Recommender/):"
    try "top 5 for user $user" "$gw/v1/users/$user/recommendations?k=5&explain=true" || bad=1
    try "5 films similar to $item" "$gw/v1/items/$item/similar?k=5" || bad=1
    try "title search" "$gw/v1/items?q=$q&k=3" || bad=1
    try "the same recommendation, Twirp JSON" -X POST "$gw/twirp/recsys.v1.Recommender/Recommend" \
        -H 'Content-Type: application/json' -d "{\"user_id\":\"$user\",\"k\":3}" || bad=1
    try "feedback: user $user rated $item 5 stars (the next answer reflects it)" -X POST "$gw/v1/feedback" \
        -H 'Content-Type: application/json' -d "{\"events\":[{\"user_id\":\"$user\",\"item_id\":\"$item\",\"rating\":5}]}" ||
        bad=1
    echo
    echo "# metrics (Prometheus text) and readiness"
    echo "curl -s http://127.0.0.1:$GW_ADMIN/metrics | head;  curl -s http://127.0.0.1:$GW_ADMIN/readyz"
    echo
    echo "Logs: $state/*.log   Stop: $PROG down${state:+ --state '$state'}"
    [ $bad = 0 ] || { echo "$PROG: an example call failed (see above)" >&2; return 1; }
}

# ------------------------------------------------------------------ up

# A process that is gone or not ready in time: say which, show its log,
# stop the others.
up_failed() {
    echo "$PROG: $1" >&2
    log_tail "$2" 25
    echo "$PROG: stopping what was started; logs stay in $state" >&2
    do_down >&2
    exit 1
}

do_up() {
    mkdir -p "$state" || die "cannot create $state"
    state=$(cd "$state" && pwd)
    local n=0 name
    for name in "${COMPONENTS[@]}"; do alive "$name" && n=$((n + 1)); done
    if [ "$n" = "${#COMPONENTS[@]}" ]; then
        echo "already running (state $state)"
        do_status
        return 0
    fi
    [ "$n" = 0 ] || do_down # a half-started set: start clean

    if [ "$no_install" != 1 ]; then
        "$REPO/deploy/install-deps.sh" || die "installing packages failed (deploy/install-deps.sh)"
    fi
    for t in redis-server redis-cli curl setsid; do
        command -v $t >/dev/null || die "$t is not installed (run deploy/install-deps.sh)"
    done

    if [ -z "${RECSYS_BIN_DIR:-}" ] && [ "$bin_dir" = "$build_dir/bin" ]; then
        echo "building (release) in $build_dir ..."
        cmake -B "$build_dir" -S "$REPO" -DCMAKE_BUILD_TYPE=Release >"$state/build.log" 2>&1 &&
            cmake --build "$build_dir" -j"$(nproc)" --target recsys-gen recsys-content recsys-cf recsys-gateway \
                >>"$state/build.log" 2>&1 || {
            tail -n 30 "$state/build.log" >&2
            die "build failed (full log: $state/build.log)"
        }
    fi
    need recsys-gen demo
    need recsys-content serve
    need recsys-cf serve
    need recsys-gateway

    if port_in_use "$http_port"; then
        die "port $http_port is already in use: set RECSYS_HTTP_PORT (or --port) to a free one"
    fi

    # The dataset: the one given, else the demo data (written once).
    if [ -n "$data" ]; then
        [ -e "$data" ] || die "--data $data does not exist"
        data=$(cd "$(dirname "$data")" && pwd)/$(basename "$data")
    else
        data=$state/demo
        if [ ! -f "$data/ratings.csv" ]; then
            "$bin_dir/recsys-gen" demo --out "$data" >>"$state/gen.log" 2>&1 ||
                { tail -n 20 "$state/gen.log" >&2; die "recsys-gen demo failed"; }
        fi
    fi

    # TMDB 5000 metadata joined onto a MovieLens CSV dataset: every binary
    # that loads the data gets --tmdb, so all see the same catalog.
    local tmdb_opt=()
    if [ -n "$tmdb" ]; then
        [ -f "$tmdb/tmdb_5000_movies.csv" ] || die "--tmdb $tmdb has no tmdb_5000_movies.csv"
        [ -f "$data/links.csv" ] ||
            die "--tmdb needs a MovieLens CSV --data with links.csv (tmdbId) to join on; $data has none"
        tmdb=$(cd "$tmdb" && pwd)
        tmdb_opt=(--tmdb "$tmdb")
        echo "joining TMDB metadata from $tmdb (see recsys-data info --data $data --tmdb $tmdb)"
        if [ -n "$tmdb_tags" ]; then
            [ -f "$tmdb_tags" ] || die "--tmdb-tags $tmdb_tags is not a file"
            tmdb_tags=$(cd "$(dirname "$tmdb_tags")" && pwd)/$(basename "$tmdb_tags")
            tmdb_opt+=(--tmdb-tags "$tmdb_tags")
        fi
    elif [ -n "$tmdb_tags" ]; then
        die "--tmdb-tags needs --tmdb (the tags only add cast and director to the TMDB join)"
    fi

    # A catalog without ratings (TMDB 5000): nothing for CF to learn from, so
    # no CF worker; the gateway answers from the content model alone
    # (flagged degraded) and its /readyz stays 503 by design.
    catalog_only=0
    if [ -d "$data" ] && [ ! -e "$data/ratings.csv" ] && [ ! -e "$data/ratings.dat" ] && [ ! -e "$data/u.data" ]; then
        catalog_only=1
        echo "$data has no ratings file: catalog only, starting no CF worker (content-based answers, flagged degraded)"
    fi

    taken=" $http_port "
    REDIS_PORT=$(free_port)
    CONTENT_PORT=$(free_port)
    CONTENT_ADMIN=$(free_port)
    CF_PORT=$(free_port)
    CF_ADMIN=$(free_port)
    GW_ADMIN=$(free_port)
    HTTP_PORT=$http_port
    cat >"$state/ports.env" <<EOF
HTTP_PORT=$HTTP_PORT
GW_ADMIN=$GW_ADMIN
CONTENT_PORT=$CONTENT_PORT
CONTENT_ADMIN=$CONTENT_ADMIN
CF_PORT=$CF_PORT
CF_ADMIN=$CF_ADMIN
REDIS_PORT=$REDIS_PORT
DATA='$data'
TMDB='$tmdb'
CATALOG_ONLY=$catalog_only
EOF

    # Redis: append-only file in the state dir, fsync every second, so
    # feedback survives a restart of the demo; no RDB snapshots.
    mkdir -p "$state/redis"
    start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$state/redis" \
        --appendonly yes --appendfsync everysec --save '' --daemonize no
    local i
    for ((i = 0; i < 100; i++)); do ready redis && break; sleep 0.1; done
    ready redis || up_failed "redis-server did not answer PING on port $REDIS_PORT" redis

    local allow=()
    [ $catalog_only = 1 ] && allow=(--allow-missing-ratings)
    start content "$bin_dir/recsys-content" serve --data "$data" "${tmdb_opt[@]}" "${allow[@]}" \
        --listen "tcp://127.0.0.1:$CONTENT_PORT" --admin-host 127.0.0.1 --admin-port "$CONTENT_ADMIN"
    [ $catalog_only = 1 ] || start cf "$bin_dir/recsys-cf" serve --data "$data" "${tmdb_opt[@]}" \
        --listen "tcp://127.0.0.1:$CF_PORT" --admin-host 127.0.0.1 --admin-port "$CF_ADMIN"
    start gateway "$bin_dir/recsys-gateway" --data "$data" "${tmdb_opt[@]}" "${allow[@]}" \
        --host 127.0.0.1 --port "$HTTP_PORT" --admin-host 127.0.0.1 --admin-port "$GW_ADMIN" \
        --content-url "tcp://127.0.0.1:$CONTENT_PORT" --cf-url "tcp://127.0.0.1:$CF_PORT" \
        --redis-host 127.0.0.1 --redis-port "$REDIS_PORT"

    CATALOG_ONLY=$catalog_only
    components
    echo "starting on $data (state $state); waiting for readiness (up to ${ready_timeout}s) ..."
    local deadline=$((SECONDS + ready_timeout)) pending
    while :; do
        pending=""
        for name in "${COMPONENTS[@]}"; do
            alive "$name" || up_failed "$name exited during start-up" "$name"
            ready "$name" || { [ -n "$pending" ] || pending=$name; }
        done
        [ -z "$pending" ] && break
        if [ $SECONDS -ge $deadline ]; then
            local url
            url=$(admin_url "$pending")
            up_failed "$pending is not ready after ${ready_timeout}s (${url:-redis}/readyz: $(curl -s -m 2 "$url/readyz" 2>/dev/null | head -c 200))" "$pending"
        fi
        sleep 0.2
    done
    # The page first: what a person opens (it needs the gateway only).
    local page="http://127.0.0.1:$HTTP_PORT/"
    if [ "$(http_code "$page")" = 200 ]; then
        echo "web page: $page   <- open it in a browser"
    else
        echo "web page: $page is not served (HTTP $(http_code "$page"); RECSYS_WEB_PAGE=false?)"
    fi
    echo "ready: gateway http://127.0.0.1:$HTTP_PORT, admin http://127.0.0.1:$GW_ADMIN;" \
        "content tcp://127.0.0.1:$CONTENT_PORT (admin $CONTENT_ADMIN);" \
        "cf tcp://127.0.0.1:$CF_PORT (admin $CF_ADMIN); redis 127.0.0.1:$REDIS_PORT"
    do_examples
}

case "$cmd" in
    up) do_up ;;
    down) do_down ;;
    status) do_status ;;
    examples) do_examples ;;
esac
