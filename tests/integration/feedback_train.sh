#!/usr/bin/env bash
# The training path reads the feedback stream: a private redis-server gets
# events XADDed in the gateway's format (gw_feedback.c: user, item, rating,
# type, ts in ms), `recsys-data export-feedback` pages them into a ratings
# CSV (ratings kept, implicit events given --implicit-rating, dislikes 1,
# flagged implicit; last stream id printed; --since continues after it,
# --append keeps the earlier rows); merged with --extra-ratings, an
# implicit row never replaces a rating (the dataset's or the file's, before
# or after it: common/data/histmerge.h), `recsys-cf train
# --extra-ratings` retrains on demo data plus that CSV, and the model served
# by `recsys-cf serve` knows the brand-new user with exactly their events.
# Error paths: Redis unreachable, a key of the wrong type, a malformed entry
# (named by its id), an unknown item (file:line). Skips (77) without
# redis-server / redis-cli / jq.
set -uo pipefail
bin=${RECSYS_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
for tool in redis-server redis-cli jq; do
  command -v $tool > /dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
for b in recsys-data recsys-cf recsys-rpc recsys-gen; do
  [ -x "$bin/$b" ] || { echo "SKIP: $bin/$b not built"; exit 77; }
done
base=${RECSYS_TEST_TMP:-/tmp}
mkdir -p "$base"
tmp=$(mktemp -d "$base/feedback_train.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "--- $f"; tail -15 "$f"; done; exit 1; }

source "$(dirname "$0")/free_port.bash"

"$bin/recsys-gen" demo --out "$tmp/data" --log-level warn 2> "$tmp/gen.log" || fail "recsys-gen demo"
mapfile -t items < <(sed -n '2,6p' "$tmp/data/items.csv" | cut -d, -f1)
known_user=$(awk -F, 'NR == 2 { print $1 }' "$tmp/data/ratings.csv")
known_item=$(awk -F, 'NR == 2 { print $2 }' "$tmp/data/ratings.csv")
# another item the same user rated, not 4 (what an implicit row would get)
known_item2=$(awk -F, -v u="$known_user" -v i="$known_item" 'NR > 1 && $1 == u && $2 != i && $3 + 0 != 4 { print $2; exit }' "$tmp/data/ratings.csv")
[ -n "$known_item2" ] || fail "demo data: no second rating of user $known_user"
grep -q '^fb-new-user,' "$tmp/data/ratings.csv" && fail "demo data already has fb-new-user"

port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" > "$tmp/redis.log" 2>&1 &
pids+=($!)
rcli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 50); do rcli ping > /dev/null 2>&1 && break; sleep 0.1; done
rcli ping > /dev/null 2>&1 || fail "redis-server did not start"

# ---- events as the gateway writes them (XADD <stream> * user U item I rating R type T ts MS)
xadd() { rcli XADD recsys:feedback '*' user "$1" item "$2" rating "$3" type "$4" ts "$5" > /dev/null || fail "XADD"; }
xadd fb-new-user "${items[0]}" 5 rating 1700000000000
xadd fb-new-user "${items[1]}" 0 view 1700000001000
xadd fb-new-user "${items[2]}" 0 dislike 1700000002000
xadd fb-new-user "${items[0]}" 4.5 rating 1700000003000 # same pair again: the last one wins
xadd "$known_user" "$known_item" 1 rating 1700000004000 # replaces a demo rating
xadd fb-new-user "${items[0]}" 0 view 1700000005000      # after a rating of the pair: ignored
xadd "$known_user" "$known_item2" 0 click 1700000006000  # a demo rating of the pair: ignored

ex() { "$bin/recsys-data" export-feedback --redis-port "$port" --log-level warn "$@"; }
ex --out "$tmp/fb.csv" --implicit-rating 4 > "$tmp/export.out" 2> "$tmp/export.log" || fail "export-feedback"
last=$(awk -F'\t' '$1 == "last_id" { print $2 }' "$tmp/export.out")
[ "$last" = "$(rcli XREVRANGE recsys:feedback + - COUNT 1 | head -1)" ] || fail "last_id '$last': $(cat "$tmp/export.out")"
grep -qx $'entries\t7' "$tmp/export.out" || fail "entries: $(cat "$tmp/export.out")"
expected="user_id,item_id,rating,timestamp,implicit
fb-new-user,${items[0]},5,1700000000,0
fb-new-user,${items[1]},4,1700000001,1
fb-new-user,${items[2]},1,1700000002,1
fb-new-user,${items[0]},4.5,1700000003,0
$known_user,$known_item,1,1700000004,0
fb-new-user,${items[0]},4,1700000005,1
$known_user,$known_item2,4,1700000006,1"
[ "$(cat "$tmp/fb.csv")" = "$expected" ] || fail "exported CSV:
$(cat "$tmp/fb.csv")"
echo "ok: export-feedback wrote 7 rows (implicit 4, dislike 1, flagged implicit), last_id $last"
# merged, the two implicit rows of rated pairs change nothing: the same
# catalog statistics as the file without them (4.5 and the demo rating stand)
head -6 "$tmp/fb.csv" > "$tmp/fb-rated.csv"
"$bin/recsys-data" items --data "$tmp/data" --extra-ratings "$tmp/fb.csv" > "$tmp/items-all.tsv" || fail "items fb.csv"
"$bin/recsys-data" items --data "$tmp/data" --extra-ratings "$tmp/fb-rated.csv" > "$tmp/items-rated.tsv" ||
  fail "items fb-rated.csv"
cmp -s "$tmp/items-all.tsv" "$tmp/items-rated.tsv" ||
  fail "implicit rows changed ratings: $(diff "$tmp/items-rated.tsv" "$tmp/items-all.tsv" | head -5)"
echo "ok: --extra-ratings: implicit rows of rated pairs (before or after the rating) are ignored"

# --since continues after the last id; dislikes can be skipped
xadd "fb-other,\"q\"" "${items[3]}" 0 click 1700000007000
xadd fb-new-user "${items[4]}" 0 dislike 1700000008000
ex --out "$tmp/fb2.csv" --since "$last" --dislike-rating 0 > "$tmp/export2.out" 2>> "$tmp/export.log" ||
  fail "export --since"
expected2="user_id,item_id,rating,timestamp,implicit
\"fb-other,\"\"q\"\"\",${items[3]},4,1700000007,1"
[ "$(cat "$tmp/fb2.csv")" = "$expected2" ] || fail "export --since: $(cat "$tmp/fb2.csv")"
grep -qx $'skipped\t1' "$tmp/export2.out" || fail "skipped: $(cat "$tmp/export2.out")"
echo "ok: --since exports only newer entries (CSV-quoted ids, dislike skipped with --dislike-rating 0)"
# --append keeps the previous export's rows: the file stays the whole history
cp "$tmp/fb.csv" "$tmp/all.csv"
ex --out "$tmp/all.csv" --append --since "$last" --dislike-rating 0 > /dev/null 2>> "$tmp/export.log" ||
  fail "export --append"
[ "$(cat "$tmp/all.csv")" = "$expected
$(tail -n +2 "$tmp/fb2.csv")" ] || fail "export --append: $(cat "$tmp/all.csv")"
printf 'a,b\n' > "$tmp/notexport.csv"
rc=0; ex --out "$tmp/notexport.csv" --append > /dev/null 2> "$tmp/err0" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'notexport.csv:1: --append: not an export' "$tmp/err0" &&
  [ "$(cat "$tmp/notexport.csv")" = a,b ] || fail "--append onto a foreign file: rc $rc $(cat "$tmp/err0")"
printf 'user_id,item_id,rating,timestamp\nu,%s,4,1\n' "${items[0]}" > "$tmp/v1.csv"
rc=0; ex --out "$tmp/v1.csv" --append > /dev/null 2> "$tmp/err0" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'v1.csv:1: --append: an export without the implicit column' "$tmp/err0" ||
  fail "--append onto an export without the implicit column: rc $rc $(cat "$tmp/err0")"
echo "ok: --append adds the new rows after the previous export's (a foreign file or one without the implicit column is refused, untouched)"

# paging: more than one XRANGE page (COUNT 10000)
rcli EVAL "for i = 1, 10005 do redis.call('XADD', KEYS[1], '*', 'user', 'bulk' .. (i % 7), 'item', ARGV[1], 'rating', '3', 'type', 'rating', 'ts', '1700000000000') end return 1" 1 bulk:feedback "${items[0]}" > /dev/null || fail "bulk XADD"
ex --out "$tmp/bulk.csv" --stream bulk:feedback > "$tmp/bulk.out" 2>> "$tmp/export.log" || fail "export bulk"
[ "$(($(wc -l < "$tmp/bulk.csv") - 1))" -eq 10005 ] || fail "bulk rows: $(wc -l < "$tmp/bulk.csv")"
echo "ok: 10005 entries over two XRANGE pages"

# ---- errors
rc=0; ex --out "$tmp/x.csv" --redis-port "$(free_port)" --redis-timeout-ms 500 > /dev/null 2> "$tmp/err1" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'cannot connect' "$tmp/err1" || fail "unreachable: rc $rc $(cat "$tmp/err1")"
[ -e "$tmp/x.csv" ] || [ -e "$tmp/x.csv.tmp" ] && fail "file left after a failed export"
rcli SET notastream 1 > /dev/null
rc=0; ex --out "$tmp/x.csv" --stream notastream > /dev/null 2> "$tmp/err2" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'WRONGTYPE' "$tmp/err2" || fail "wrong type: rc $rc $(cat "$tmp/err2")"
bad_id=$(rcli XADD badstream '*' user u1 rating 4)
rc=0; ex --out "$tmp/x.csv" --stream badstream > /dev/null 2> "$tmp/err3" || rc=$?
[ "$rc" -eq 1 ] && grep -q "stream entry $bad_id: missing or empty user/item" "$tmp/err3" ||
  fail "malformed entry: rc $rc $(cat "$tmp/err3")"
[ -e "$tmp/x.csv" ] && fail "file left after a failed export"
echo "ok: errors (unreachable, WRONGTYPE, malformed entry $bad_id)"

# ---- retrain with the exported feedback; the model knows the new user
"$bin/recsys-data" info --data "$tmp/data" --extra-ratings "$tmp/fb.csv" > "$tmp/info.out" || fail "info"
users_before=$("$bin/recsys-data" info --data "$tmp/data" | awk -F'\t' '$1 == "users" { print $2 }')
users_after=$(awk -F'\t' '$1 == "users" { print $2 }' "$tmp/info.out")
[ "$users_after" -eq $((users_before + 1)) ] || fail "users $users_before -> $users_after"
mkdir -p "$tmp/model"
"$bin/recsys-cf" train --data "$tmp/data" --extra-ratings "$tmp/fb.csv" --out "$tmp/model/cf.model" \
  --log-level warn 2> "$tmp/train.log" || fail "train --extra-ratings"
"$bin/recsys-cf" serve --model "$tmp/model" --data "$tmp/data" --listen tcp://127.0.0.1:0 --admin-port 0 \
  2> "$tmp/serve.log" &
pids+=($!)
for _ in $(seq 600); do grep -q '"listening"' "$tmp/serve.log" 2> /dev/null && break; sleep 0.1; done
url=$(jq -r 'select(.msg == "listening") | .rpc' "$tmp/serve.log" 2> /dev/null)
[ -n "$url" ] || fail "recsys-cf serve: no listening line"
rpc() { "$bin/recsys-rpc" --url "$url" --timeout-ms 10000 "$@"; }
rpc '{"info":{}}' > "$tmp/info.json" || fail "info rpc"
jq -e --argjson n "$users_after" '(.info.n_users | tonumber) == $n' "$tmp/info.json" > /dev/null ||
  fail "model users: $(cat "$tmp/info.json") (want $users_after)"
# three distinct items for the new user: history_used 3, none recommended back
rpc '{"score":{"user_id":"fb-new-user","k":5}}' > "$tmp/new.json" || fail "score fb-new-user"
jq -e --arg a "${items[0]}" --arg b "${items[1]}" --arg c "${items[2]}" '.scored.history_used == 3
  and (.scored.items | length) == 5
  and all(.scored.items[]; .item_id != $a and .item_id != $b and .item_id != $c)' "$tmp/new.json" > /dev/null ||
  fail "fb-new-user is not a known user of the retrained model: $(cat "$tmp/new.json")"
echo "ok: retrained model ($users_after users) knows fb-new-user (history_used 3)"

# an unknown item in the extra file fails the training with file:line
printf 'user_id,item_id,rating\nu,%s,4\nu,no-such-film,3\n' "${items[0]}" > "$tmp/badfb.csv"
rc=0; "$bin/recsys-cf" train --data "$tmp/data" --extra-ratings "$tmp/badfb.csv" --out "$tmp/bad.model" \
  --log-level warn 2> "$tmp/err4" || rc=$?
[ "$rc" -ne 0 ] && grep -q "badfb.csv:3: unknown item id 'no-such-film'" "$tmp/err4" ||
  fail "unknown item: rc $rc $(cat "$tmp/err4")"
echo "ok: unknown item -> training refused with badfb.csv:3"
echo "PASS"
