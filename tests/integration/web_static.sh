#!/usr/bin/env bash
# web_static.sh: the gateway's web page over the wire with curl (the files
# of web/ embedded at build time, services/gateway/gw_static.c): GET / and
# every asset byte for byte with its content type; ETag, If-None-Match 304
# (strong, weak, lists, "*") and a changed ETag answered in full; HEAD with
# the GET's length and no body; Cache-Control, nosniff and a
# Content-Security-Policy of 'self' without 'unsafe-inline'; no inline
# script or style and no other host named in the files (the page works
# offline); unknown assets and traversal 404 not_found; POST / refused with
# an Allow header; --web-page=false and RECSYS_WEB_PAGE=false turn the page
# off while the API answers. With both workers: every ranked answer carries
# the blend weights used (summing to 1) and each item's score is the sum of
# its contributions, which the page draws.
set -u
source "$(dirname "$0")/gateway_env.bash"
SRC=${RECSYS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WEB=$SRC/web
[ -f "$WEB/index.html" ] || fail "no $WEB/index.html"

start_redis
start_gateway
B=$T/body
H=$T/head

# hdr NAME FILE: the value of a response header (last one, CR stripped)
hdr() { grep -i "^$1:" "$2" | tail -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
# get URL [curl args]: status; headers in $H, body in $B
get() { curl -s -D "$H" -o "$B" -w '%{http_code}' "$@"; }

# ---- GET / and the assets: bytes, types, headers
c=$(get "$GW/")
[ "$c" = 200 ] || fail "GET / answered $c"
cmp -s "$B" "$WEB/index.html" || fail "GET / is not web/index.html"
[ "$(hdr Content-Type $H)" = "text/html; charset=utf-8" ] || fail "GET / content type '$(hdr Content-Type $H)'"
[ "$(hdr Cache-Control $H)" = "no-cache" ] || fail "Cache-Control '$(hdr Cache-Control $H)'"
[ "$(hdr X-Content-Type-Options $H)" = "nosniff" ] || fail "no nosniff"
csp=$(hdr Content-Security-Policy $H)
case "$csp" in *"default-src 'self'"*) ;; *) fail "CSP without default-src 'self': '$csp'" ;; esac
case "$csp" in *"script-src 'self'"*) ;; *) fail "CSP without script-src 'self': '$csp'" ;; esac
case "$csp" in *unsafe-inline* | *unsafe-eval* | *http:* | *https:* | *"*"*) fail "CSP too open: '$csp'" ;; esac
etag_index=$(hdr ETag $H)
[[ "$etag_index" =~ ^\"[0-9a-f]{16}\"$ ]] || fail "ETag of / is '$etag_index'"
ok "GET /: index.html, text/html, no-cache, nosniff, CSP 'self', ETag $etag_index"

declare -A want=([app.js]="text/javascript; charset=utf-8" [api.js]="text/javascript; charset=utf-8"
    [style.css]="text/css; charset=utf-8" [favicon.svg]="image/svg+xml")
etags=" $etag_index "
for f in "${!want[@]}"; do
    grep -q "[/.]$f" "$WEB"/index.html "$WEB"/*.js || fail "web/ does not use $f"
    c=$(get "$GW/assets/$f")
    [ "$c" = 200 ] || fail "GET /assets/$f answered $c"
    cmp -s "$B" "$WEB/$f" || fail "/assets/$f differs from web/$f"
    [ "$(hdr Content-Type $H)" = "${want[$f]}" ] || fail "$f served as '$(hdr Content-Type $H)', want '${want[$f]}'"
    [ -n "$(hdr Content-Security-Policy $H)" ] && [ "$(hdr X-Content-Type-Options $H)" = nosniff ] ||
        fail "$f without CSP or nosniff"
    e=$(hdr ETag $H)
    case "$etags" in *" $e "*) fail "$f has the ETag of another file ($e)" ;; esac
    etags="$etags$e "
done
# every file of web/ is served (index.html at /)
for f in "$WEB"/*; do
    n=$(basename "$f")
    [ "$n" = index.html ] && continue
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/assets/$n")" = 200 ] || fail "web/$n not served"
done
ok "assets: byte for byte, content types ${want[*]}, distinct ETags"

# ---- what the CSP allows is all the page needs: no inline script or
# style, no event-handler attributes, no other host (offline)
grep -Eq '<script>|<script [^>]*>[^<]' "$WEB/index.html" && fail "inline <script> in index.html"
grep -Eiq '<style|style="| on[a-z]+="' "$WEB/index.html" && fail "inline style or event handler in index.html"
grep -Eq '<script [^>]*src="/assets/app.js"' "$WEB/index.html" || fail "index.html does not load /assets/app.js"
grep -Eiq 'https?://|//fonts\.|@import|url\(' "$WEB"/*.html "$WEB"/*.css "$WEB"/*.js && fail "web/ names another host or import"
grep -Eq 'setAttribute\(.style|innerHTML|eval\(|new Function' "$WEB"/*.js && fail "web/*.js builds markup, style attributes or code from strings"
ok "no inline script or style, no other host in web/"

# ---- If-None-Match: 304 with the ETag and no body
inm() { rm -f "$B"; curl -s -D "$H" -o "$B" -w '%{http_code}' -H "If-None-Match: $1" "$GW/${2:-}"; }
c=$(inm "$etag_index")
[ "$c" = 304 ] || fail "If-None-Match with the ETag: $c"
[ ! -s "$B" ] || fail "304 with a body"
[ "$(hdr ETag $H)" = "$etag_index" ] || fail "304 without the ETag"
[ "$(hdr Cache-Control $H)" = no-cache ] || fail "304 without Cache-Control"
grep -qi '^Content-Length: [1-9]' $H && fail "304 with a Content-Length"
[ "$(inm "W/$etag_index")" = 304 ] || fail "weak ETag not matched (If-None-Match compares weakly)"
[ "$(inm "\"0000000000000000\", $etag_index")" = 304 ] || fail "ETag in a list not matched"
[ "$(inm '*')" = 304 ] || fail "If-None-Match: * not matched"
[ "$(inm '"0000000000000000"')" = 200 ] || fail "another ETag answered 304"
cmp -s "$B" "$WEB/index.html" || fail "a stale ETag did not get the full page"
[ "$(inm "$etag_index" assets/style.css)" = 200 ] || fail "index.html's ETag matched style.css"
e=$(curl -s -D - -o /dev/null "$GW/assets/app.js" | grep -i '^etag:' | sed 's/^[^:]*: *//' | tr -d '\r')
[ "$(inm "$e" assets/app.js)" = 304 ] || fail "app.js's ETag not answered 304"
ok "ETag/If-None-Match: 304 without a body (strong, weak, list, *), 200 for another tag"

# ---- HEAD: the GET's headers, no body
len=$(wc -c <"$WEB/app.js")
c=$(curl -s -I -o "$H" -w '%{http_code}' "$GW/assets/app.js")
[ "$c" = 200 ] || fail "HEAD app.js: $c"
[ "$(hdr Content-Length $H)" = "$len" ] || fail "HEAD Content-Length $(hdr Content-Length $H), file is $len"
[ "$(hdr Content-Type $H)" = "text/javascript; charset=utf-8" ] || fail "HEAD content type"
[ -n "$(hdr ETag $H)" ] || fail "HEAD without ETag"
# raw: the whole answer to HEAD / on a closing connection is the head alone
exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT"
printf 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 >"$B"
exec 3<&-
grep -q '^HTTP/1.1 200' "$B" || fail "raw HEAD /: $(head -c 200 "$B")"
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); h,_,b=d.partition(b"\r\n\r\n"); sys.exit(1 if b else 0)' "$B" ||
    fail "HEAD / sent a body"
ok "HEAD: Content-Length $len, type and ETag, no body"

# ---- unknown assets, traversal, other methods
c=$(get "$GW/assets/nope.js")
[ "$c" = 404 ] || fail "unknown asset: $c"
grep -q '"code":"not_found"' $B || fail "unknown asset body: $(cat $B)"
grep -q "nope.js" $B || fail "unknown asset not named: $(cat $B)"
for p in "assets/..%2Fgw_static.c" "assets/%2e%2e%2fCMakeLists.txt" "assets/index.html/" "assets/" "index.html" "web/app.js" "assets/APP.JS"; do
    c=$(curl -s -o "$B" -w '%{http_code}' "$GW/$p")
    [ "$c" = 404 ] || [ "$c" = 400 ] || fail "/$p answered $c: $(head -c 200 $B)"
done
c=$(get -X POST "$GW/")
[ "$c" = 404 ] || [ "$c" = 405 ] || fail "POST / answered $c"
case "$(hdr Allow $H)" in *GET*) ;; *) fail "POST / without an Allow header naming GET" ;; esac
ok "unknown asset 404 not_found (named), traversal and odd paths 404, POST / refused with Allow"

# ---- the API answers beside the page
c=$(req $B GET "$GW/v1/items?q=toy&k=2")
[ "$c" = 200 ] || fail "search beside the page: $c"
has $B '"title":"Toy Story"' "search"

# ---- the page turned off: flag and environment
stop_gw() { kill "$GW_PID" && wait "$GW_PID" 2>/dev/null; }
stop_gw
GW_FLAGS="--web-page=false" start_gateway
c=$(get "$GW/")
[ "$c" = 404 ] || fail "--web-page=false: GET / answered $c"
grep -q '"code":"bad_route"' $B || fail "--web-page=false: $(cat $B)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/assets/app.js")" = 404 ] || fail "--web-page=false: assets served"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/v1/items?q=toy&k=2")" = 200 ] || fail "--web-page=false: API down"
stop_gw
RECSYS_WEB_PAGE=false start_gateway
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/")" = 404 ] || fail "RECSYS_WEB_PAGE=false: page served"
stop_gw
GW_FLAGS="" start_gateway
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/")" = 200 ] || fail "page not back on by default"
ok "--web-page=false and RECSYS_WEB_PAGE=false: / 404 bad_route, API answers"

# ---- the contributions the page draws: weights in every ranked answer
have_workers || skip "worker binaries missing: the weights check needs both workers"
start_content
start_cf
wait_ready
check_weights() { # FILE: weights sum to 1; score = sum of weight x source score
    python3 - "$1" <<'EOF' || fail "weights in $2: $(head -c 400 "$1")"
import json, sys
d = json.load(open(sys.argv[1]))
w = d["weights"]
s = w["content"] + w["cf"] + w["popularity"]
assert abs(s - 1) < 1e-4, f"weights sum to {s}"
assert d["items"], "no items"
for it in d["items"]:
    c = w["content"] * it["content_score"] + w["cf"] * it["cf_score"] + w["popularity"] * it["popularity_score"]
    assert abs(c - it["score"]) < 1e-4, f"{it['item_id']}: contributions {c} != score {it['score']}"
EOF
}
for m in blend content behaviour; do
    c=$(req $B GET "$GW/v1/items/toy-story-1995/similar?k=5&mode=$m")
    [ "$c" = 200 ] || fail "similar $m: $c"
    check_weights $B "similar $m"
done
c=$(req $B GET "$GW/v1/users/1/recommendations?k=5")
[ "$c" = 200 ] || fail "recommend: $c"
check_weights $B "recommend"
c=$(req $B GET "$GW/v1/users/1/recommendations?k=5") # the cached answer keeps them
has $B '"cached":true' "cached recommend"
check_weights $B "cached recommend"
c=$(req $B POST "$TW/Score" -H 'Content-Type: application/json' \
    -d '{"user_id":"1","candidate_item_ids":["toy-story-1995","alien-1979","the-kid-1921"]}')
[ "$c" = 200 ] || fail "score: $c"
check_weights $B "score"
ok "ranked answers carry the blend weights (sum 1); score = sum of contributions, cached too"
