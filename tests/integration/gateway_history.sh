#!/usr/bin/env bash
# gateway_history.sh: implicit feedback never outweighs a stored rating, also
# when the user's history is longer than content-history-max and the rating
# is one the gateway leaves out of the content worker's request.
# With --content-history-max 1 a user's stored ratings are cut to one; a
# "view" of each rated item (kept or left out) must leave the next answer
# exactly as it was, while a view of an item the user never rated changes it
# (so the comparison can see a change). Real redis-server, both workers and
# the gateway on loopback ports, demo data.
. "$(dirname "$0")/gateway_env.bash"
have_workers || skip "workers not built"
GW_FLAGS="--content-history-max 1 --cache-ttl-ms 0 --api-key sekret"
start_redis
start_content
start_cf
start_gateway
wait_ready

user=$(awk -F, 'NR > 1 {n[$1]++} END {for (u in n) if (n[u] >= 3) {print u; exit}}' "$T/data/ratings.csv")
[ -n "$user" ] || fail "no demo user with 3 ratings"
mapfile -t rated < <(awk -F, -v u="$user" 'NR > 1 && $1 == u {print $2}' "$T/data/ratings.csv" | head -n 3)
unrated=$(awk -F, -v u="$user" 'NR > 1 {if ($1 == u) r[$2] = 1; else all[$2] = 1}
    END {for (i in all) if (!(i in r)) {print i; exit}}' "$T/data/ratings.csv")
B=$T/body
# The answer without the per-request fields.
answer() {
    local c
    c=$(req $B GET "$GW/v1/users/$user/recommendations?k=20")
    [ "$c" = 200 ] || fail "recommendations $c: $(cat $B)"
    sed 's/"request_id":"[^"]*"//; s/"cached":[a-z]*//' $B
}
view() {
    local c
    c=$(req $B POST "$GW/v1/feedback" -H 'Content-Type: application/json' -H 'Authorization: Bearer sekret' \
        -d "{\"events\":[{\"user_id\":\"$user\",\"item_id\":\"$1\",\"type\":\"EVENT_TYPE_VIEW\"}]}")
    [ "$c" = 200 ] || fail "feedback $c: $(cat $B)"
}
before=$(answer)
for item in "${rated[@]}"; do
    view "$item"
    after=$(answer)
    [ "$after" = "$before" ] || fail "a view of rated item $item changed user $user's answer:
before: ${before:0:600}
after:  ${after:0:600}"
done
ok "views of ${#rated[@]} rated items (content-history-max 1: some left out of the request) change nothing"
view "$unrated"
after=$(answer)
[ "$after" != "$before" ] || fail "a view of unrated item $unrated changed nothing (the check above could not see a change)"
ok "a view of an unrated item changes the answer"
