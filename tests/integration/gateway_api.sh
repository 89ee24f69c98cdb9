#!/usr/bin/env bash
# gateway_api.sh: recsys-gateway over the wire with a real Redis and both
# workers (demo data): every route in both encodings, Twirp errors, the
# cached answer equal to the uncached one, feedback in the Redis stream and
# in the next answer, the API key, a table of bad requests answered or
# closed cleanly while another client is served, Redis stopped and
# restarted, SIGTERM exit 0. Before the workers start, the gateway answers
# from popularity, flagged degraded (tested even when the worker binaries
# are missing; then the rest is skipped); a cold start (unknown user, no
# history) is popularity with "fallback":"popularity" and not degraded.
# GW_EXTRA_FLAGS adds gateway flags (e.g. --blend-depth 1 shows the
# prefix check failing when fusion depth follows k).
set -u
source "$(dirname "$0")/gateway_env.bash"

GW_FLAGS="${GW_EXTRA_FLAGS:-} --api-key sekret --http-max-body-bytes 65536 --http-header-timeout-ms 1500 --http-max-header-bytes 8192"
start_redis
start_gateway
B=$T/body

# ---- no workers yet: not ready, popularity answers flagged degraded
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_ADMIN/readyz")" = 503 ] || fail "readyz before workers"
c=$(req $B GET "$GW/v1/users/1/recommendations?k=5")
[ "$c" = 200 ] || fail "popularity answer: $c"
has $B '"degraded":true' "degraded flag"
has $B 'answered from popularity' "popularity reason"
has $B '"fallback":"popularity"' "fallback popularity"
[ "$(grep -o '"item_id"' $B | wc -l)" = 5 ] || fail "5 popular items"
ok "no workers: 503 readyz, degraded popularity answers"

have_workers || skip "worker binaries missing ($BIN/recsys-content, $BIN/recsys-cf): only the degraded mode was tested"
start_content
start_cf
wait_ready
ok "ready once both workers answer"

# ---- a cold start (an unknown user, no history): popularity, said so in
# fallback, and not degraded (degraded: a model was unavailable); no worker
# is asked, the metrics count a cold_start fallback
c=$(req $B GET "$GW/v1/users/no-such-user/recommendations?k=5")
[ "$c" = 200 ] || fail "cold start: $c"
has $B '"fallback":"popularity"' "cold start fallback"
has $B '"degraded":false' "cold start not degraded"
has $B '"degraded_reasons":\[\]' "cold start without degraded reasons"
[ "$(grep -o '"item_id"' $B | wc -l)" = 5 ] || fail "cold start: 5 popular items"
curl -s "http://127.0.0.1:$GW_ADMIN/metrics" | grep -q 'recsys_gateway_popularity_fallback_total{method="Recommend",reason="cold_start"} [1-9]' ||
    fail "cold_start fallback not counted"
ok "cold start: popularity, fallback \"popularity\", not degraded"

# ---- Recommend: JSON, protobuf, REST; cache
J='{"user_id":"1","k":3,"explain":true}'
c=$(req $B.1 POST "$TW/Recommend" -H 'Content-Type: application/json' -d "$J")
[ "$c" = 200 ] || fail "Recommend JSON $c"
has $B.1 '"degraded":false' "full answer"
has $B.1 '"fallback":""' "personalised answer: no fallback"
has $B.1 '"cached":false' "first answer computed"
has $B.1 '"model_versions":{"content":"[^"]' "content version"
has $B.1 '"text":"' "explanation"
c=$(req $B.2 POST "$TW/Recommend" -H 'Content-Type: application/json' -d "$J")
has $B.2 '"cached":true' "second answer cached"
strip() { sed -e 's/"cached":[a-z]*//' -e 's/"request_id":"[^"]*"//' "$1"; }
[ "$(strip $B.1)" = "$(strip $B.2)" ] || fail "cached answer differs from the uncached one"
ok "Recommend JSON; cached answer equals the uncached one"

ids_json() { grep -o '"item_id":"[^"]*"' "$1" | sed 's/.*:"//; s/"$//' | head -n "$2"; }
printf '\x0a\x011\x18\x03\x30\x01' >$T/rec.pb  # user_id "1", k 3, explain true
ct=$(curl -s -o $B.pb -w '%{http_code} %{content_type}' -X POST "$TW/Recommend" \
    -H 'Content-Type: application/protobuf' --data-binary @$T/rec.pb)
[ "$ct" = "200 application/protobuf" ] || fail "Recommend protobuf: $ct"
want=$(ids_json $B.1 3 | tr '\n' ' ')
got=$(for id in $(ids_json $B.1 3); do grep -c -a -- "$id" $B.pb >/dev/null && echo "$id"; done | tr '\n' ' ')
[ "$want" = "$got" ] || fail "protobuf answer ids '$got' != '$want'"
c=$(req $B.3 GET "$GW/v1/users/1/recommendations?k=3&explain=true")
[ "$c" = 200 ] || fail "REST recommend $c"
[ "$(ids_json $B.3 3)" = "$(ids_json $B.1 3)" ] || fail "REST and Twirp answers differ"
c=$(req $B GET "$GW/v1/users/1/recommendations?k=4&genre=Comedy&exclude=the-kid-1921")
[ "$c" = 200 ] || fail "REST recommend with filters $c"
! grep -q '"the-kid-1921"' $B || fail "excluded item returned"
[ "$(grep -o '"genres":\[[^]]*\]' $B | grep -vc Comedy)" = 0 ] || fail "genre filter"
c=$(req $B POST "$TW/Recommend" -H 'Content-Type: application/json' \
    -d '{"history":[{"item_id":"alien-1979","rating":5},{"item_id":"the-thing-1982","rating":5}],"k":5}')
[ "$c" = 200 ] || fail "anonymous history $c"
ok "Recommend protobuf, REST, filters, anonymous history"

# ---- SimilarItems, Score, GetItem, SearchItems in both encodings
c=$(req $B POST "$TW/SimilarItems" -H 'Content-Type: application/json' -d '{"item_id":"the-kid-1921","k":5}')
[ "$c" = 200 ] || fail "SimilarItems $c"
has $B '"query_item":{"item_id":"the-kid-1921"' "query item"
! grep -q '"rank":[1-9][0-9]*,*[^}]*"item_id":"the-kid-1921"' $B || true
c=$(req $B GET "$GW/v1/items/the-kid-1921/similar?k=3&mode=content")
[ "$c" = 200 ] || fail "REST similar $c"
has $B '"cf":""' "content-only similar asks no CF"
c=$(req $B POST "$TW/Score" -H 'Content-Type: application/json' \
    -d '{"user_id":"1","candidate_item_ids":["batman-1989","nope","the-kid-1921"]}')
[ "$c" = 200 ] || fail "Score $c"
has $B '"unknown_item_ids":\["nope"\]' "unknown candidate"
[ "$(grep -o '"item_id"' $B | wc -l)" = 2 ] || fail "Score answers every known candidate"
printf '\x0a\x0cthe-kid-1921' >$T/get.pb
ct=$(curl -s -o $B -w '%{http_code} %{content_type}' -X POST "$TW/GetItem" -H 'Content-Type: application/protobuf' \
    --data-binary @$T/get.pb)
[ "$ct" = "200 application/protobuf" ] || fail "GetItem protobuf $ct"
grep -q -a 'Charlie Chaplin' $B || fail "GetItem protobuf body"
c=$(req $B GET "$GW/v1/items/the-kid-1921")
[ "$c" = 200 ] && has $B '"title":"The Kid"' "REST item"
c=$(req $B POST "$TW/SearchItems" -H 'Content-Type: application/json' -d '{"query":"star","k":3}')
[ "$c" = 200 ] && has $B '"item_id":"star-wars-1977"' "search"
c=$(req $B GET "$GW/v1/items?q=godfather&k=2")
[ "$c" = 200 ] && has $B '"title":"The Godfather' "REST search"
ok "SimilarItems, Score, GetItem, SearchItems (JSON, protobuf, REST)"

# ---- an answer does not depend on k beyond its length: each source gives
# blend-depth entries to the fusion whatever k is, so top-k is a prefix of
# top-(k+n) (what the evaluator measures is what is served)
ids_of() { grep -o '"item_id":"[^"]*"' "$1" | cut -d'"' -f4 | tr '\n' ' '; }
for u in $(seq 1 15); do
    for k in 3 10; do
        c=$(req $B.k$k POST "$TW/Recommend" -H 'Content-Type: application/json' \
            -d "{\"user_id\":\"$u\",\"k\":$k,\"weights\":{\"content\":1,\"cf\":1}}")
        [ "$c" = 200 ] || fail "recommend k=$k for user $u: $c"
    done
    a=$(ids_of $B.k3)
    b=$(ids_of $B.k10 | cut -d' ' -f1-3)
    [ "${a% }" = "${b% }" ] || fail "user $u: top-3 '$a' is not the prefix of top-10 '$b'"
done
[ "$(req $B.s1 GET "$GW/v1/items/alien-1979/similar?k=1")" = 200 ] || fail "similar k=1"
[ "$(req $B.s5 GET "$GW/v1/items/alien-1979/similar?k=5")" = 200 ] || fail "similar k=5"
s1=$(ids_of $B.s1); s5=$(ids_of $B.s5)
[ "${s1%% *}" = "${s5%% *}" ] || fail "similar: top-1 '$s1' is not the prefix of top-5 '$s5'"
ok "top-k answers are prefixes of longer ones (fusion depth independent of k)"

# ---- errors: Twirp codes and statuses on every route
check_err() { # status code method url [curl args]
    local want=$1 code=$2
    shift 2
    local c
    c=$(req $B "$@")
    [ "$c" = "$want" ] || fail "$* -> $c, want $want"
    has $B "\"code\":\"$code\"" "$*"
}
check_err 404 not_found GET "$GW/v1/items/nope"
check_err 404 not_found GET "$GW/v1/items/nope/similar"
check_err 404 not_found POST "$TW/GetItem" -H 'Content-Type: application/json' -d '{"item_id":"nope"}'
check_err 404 bad_route GET "$GW/v1/nothing"
check_err 404 bad_route GET "$TW/Recommend"
check_err 404 bad_route POST "$TW/NoSuchMethod" -H 'Content-Type: application/json' -d '{}'
check_err 404 bad_route POST "$TW/Recommend" -H 'Content-Type: text/plain' -d '{}'
check_err 400 malformed POST "$TW/Recommend" -H 'Content-Type: application/json' -d '{"user_id":'
check_err 400 malformed POST "$TW/Recommend" -H 'Content-Type: application/json' -d '{"k":"ten"}'
check_err 400 malformed POST "$TW/Recommend" -H 'Content-Type: application/protobuf' --data-binary 'garbage!'
check_err 400 malformed POST "$TW/Recommend" -H 'Content-Type: application/protobuf' --data-binary @<(printf '\x0a\x05ab')
check_err 400 invalid_argument POST "$TW/Recommend" -H 'Content-Type: application/json' -d '{"user_id":"1","k":100000}'
check_err 400 invalid_argument POST "$TW/Recommend" -H 'Content-Type: application/json' -d '{}'
check_err 400 invalid_argument GET "$GW/v1/users/1/recommendations?k=abc"
check_err 400 invalid_argument GET "$GW/v1/users/1/recommendations?genre=NoSuchGenre"
check_err 400 invalid_argument POST "$TW/Recommend" -H 'Content-Type: application/json' \
    -d '{"history":[{"item_id":"not-an-item"}]}'
check_err 401 unauthenticated POST "$GW/v1/feedback" -H 'Content-Type: application/json' \
    -d '{"events":[{"user_id":"1","item_id":"the-kid-1921","rating":4}]}'
check_err 401 unauthenticated POST "$TW/AddFeedback" -H 'Content-Type: application/json' -H 'Authorization: Bearer wrong' \
    -d '{"events":[{"user_id":"1","item_id":"the-kid-1921","rating":4}]}'
check_err 400 invalid_argument POST "$GW/v1/feedback" -H 'Content-Type: application/json' -H 'Authorization: Bearer sekret' \
    -d '{"events":[{"user_id":"1","item_id":"nope","rating":4}]}'
ok "Twirp errors: not_found, bad_route, malformed, invalid_argument, unauthenticated"

# ---- feedback: in the stream, and the next answer reflects it
c=$(req $B GET "$GW/v1/users/2/recommendations?k=5")
top=$(ids_json $B 1)
c=$(req $B GET "$GW/v1/users/2/recommendations?k=5")
has $B '"cached":true' "user 2 cached"
c=$(req $B POST "$GW/v1/feedback" -H 'Content-Type: application/json' -H 'Authorization: Bearer sekret' \
    -d "{\"events\":[{\"user_id\":\"2\",\"item_id\":\"$top\",\"rating\":1}]}")
[ "$c" = 200 ] || fail "feedback $c: $(cat $B)"
has $B '"accepted":1' "accepted"
sid=$(grep -o '"stream_ids":\["[^"]*"' $B | sed 's/.*\["//; s/"$//')
redis-cli -p "$REDIS_PORT" XRANGE recsys:feedback "$sid" "$sid" | grep -qx "$top" || fail "event $sid not in the stream"
c=$(req $B GET "$GW/v1/users/2/recommendations?k=5")
has $B '"cached":false' "cache invalidated by feedback"
! grep -q "\"$top\"" $B || fail "rated item $top still recommended"
c=$(req $B POST "$TW/AddFeedback" -H 'Content-Type: application/protobuf' -H 'Authorization: Bearer sekret' \
    --data-binary @<(printf '\x0a\x16\x0a\x012\x12\x0cthe-kid-1921\x1d\x00\x00\x80\x40'))
[ "$c" = 200 ] || fail "AddFeedback protobuf $c"
ok "feedback recorded in the stream (XRANGE), next answer reflects it, both encodings"

# ---- bad requests while another client is served
big=$(head -c 12000 /dev/zero | tr '\0' a)
c=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$GW/v1/items/the-kid-1921")
[ "$c" = 431 ] || fail "huge header: $c"
head -c 100000 /dev/zero | tr '\0' ' ' >$T/huge.json
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$TW/Recommend" -H 'Content-Type: application/json' --data-binary @$T/huge.json)
[ "$c" = 413 ] || fail "huge body: $c"
# Truncated body: Content-Length says 100, 10 bytes come, the client leaves.
(exec 3<>/dev/tcp/127.0.0.1/$GW_PORT; printf 'POST /twirp/recsys.v1.Recommender/Recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user_id"' >&3; exec 3>&-) || true
# Slow client: half a request line, then silence; others are served meanwhile.
exec 4<>/dev/tcp/127.0.0.1/$GW_PORT
printf 'GET /v1/items/the-kid-1921 HT' >&4
t0=$(date +%s%N)
c=$(req $B GET "$GW/v1/items/the-kid-1921")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$c" = 200 ] && [ $ms -lt 1000 ] || fail "another client not served while a slow one waits ($c, $ms ms)"
slow=$(timeout 5 cat <&4 | head -c 200)
exec 4<&-
grep -q '408' <<<"$slow" || fail "slow client not answered 408 (got '$slow')"
# Garbage that is not HTTP.
exec 5<>/dev/tcp/127.0.0.1/$GW_PORT
printf 'BLAH\r\n\r\n' >&5
c=$(timeout 3 head -c 12 <&5)
exec 5<&-
grep -q 'HTTP/1.1 400' <<<"$c" || fail "garbage request: '$c'"
c=$(req $B GET "$GW/v1/items/the-kid-1921")
[ "$c" = 200 ] || fail "gateway unwell after bad requests"
ok "bad requests: 431 huge headers, 413 huge body, truncated body, 408 slow client (others served), 400 garbage"

# ---- Redis stopped and restarted
kill $REDIS_PID; wait $REDIS_PID 2>/dev/null
c=$(req $B GET "$GW/v1/users/3/recommendations?k=5")
[ "$c" = 200 ] || fail "recommend without Redis: $c"
has $B '"cached":false' "uncached without Redis"
c=$(req $B GET "$GW/v1/users/3/recommendations?k=5")
[ "$c" = 200 ] && has $B '"cached":false' "still uncached without Redis"
check_err 503 unavailable POST "$GW/v1/feedback" -H 'Content-Type: application/json' -H 'Authorization: Bearer sekret' \
    -d '{"events":[{"user_id":"3","item_id":"the-kid-1921","rating":4}]}'
start_redis
for _ in $(seq 100); do
    c=$(req $B POST "$GW/v1/feedback" -H 'Content-Type: application/json' -H 'Authorization: Bearer sekret' \
        -d '{"events":[{"user_id":"3","item_id":"the-kid-1921","rating":4}]}')
    [ "$c" = 200 ] && break
    sleep 0.1
done
[ "$c" = 200 ] || fail "feedback after Redis restart: $c"
req $B GET "$GW/v1/users/3/recommendations?k=5" >/dev/null
req $B GET "$GW/v1/users/3/recommendations?k=5" >/dev/null
has $B '"cached":true' "cache resumed after Redis restart"
ok "Redis down: answers uncached, feedback 503; after restart feedback and cache resume"

# ---- metrics and SIGTERM
curl -s "http://127.0.0.1:$GW_ADMIN/metrics" >$B
for m in recsys_http_requests_total recsys_gateway_worker_latency_seconds recsys_gateway_degraded_total \
    recsys_cache_hits_total recsys_gateway_redis_up; do
    grep -q "^$m" $B || fail "metric $m missing"
done
kill -TERM $GW_PID
wait $GW_PID
rc=$?
[ $rc = 0 ] || fail "gateway exit status after SIGTERM: $rc"
ok "metrics exposed; SIGTERM exits 0"
