#!/usr/bin/env bash
# recsys-cf serve as a real process over real nng sockets, driven by
# recsys-rpc, on the demo data (recsys-gen demo): a known user's top 10
# (none of the user's rated items, history_used = the user's ratings), an
# anonymous history (fold-in, explanations from the history, unknown ids
# listed), popularity for nobody, candidates, similar items, rating
# prediction (an mf model trained alongside, and one given as a file),
# NOT_FOUND / INVALID_ARGUMENT answers, malformed bytes, an over-limit
# request (connection dropped, server unharmed) and reply
# (RESOURCE_EXHAUSTED), /healthz /readyz /metrics, SIGHUP reloads under
# concurrent load with zero failed calls (retrained from --data, and
# re-mapped from --model), SIGTERM exiting 0, truncated / bit-flipped model
# files refused at start-up with exit 1 and the file named.
# Ports: 0 (the kernel picks free ones; read back from the log). Only
# processes started here are signalled, by pid.
set -euo pipefail
bin=${RECSYS_BIN_DIR:?RECSYS_BIN_DIR not set}
for t in curl jq; do
  command -v $t > /dev/null || { echo "SKIP: needs $t"; exit 77; }
done
for b in recsys-cf recsys-rpc recsys-gen; do
  [ -x "$bin/$b" ] || { echo "SKIP: $bin/$b not built"; exit 77; }
done
tmp=${RECSYS_TEST_TMP:-/tmp}/cf_service.$$
mkdir -p "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
worker=recsys-cf
. "$(dirname "${BASH_SOURCE[0]}")/worker_env.bash"

# ---- data
data=$tmp/data
"$bin/recsys-gen" demo --out "$data" --log-level warn || fail "recsys-gen demo"
# User 1's rated items (ids have no commas: the generator's slugs).
mapfile -t seen1 < <(awk -F, 'NR > 1 && $1 == "1" { print $2 }' "$data/ratings.csv")
[ "${#seen1[@]}" -ge 5 ] || fail "user 1 has ${#seen1[@]} ratings"
seen1_json=$(printf '%s\n' "${seen1[@]}" | jq -R . | jq -sc .)
# The most rated item and its count.
read -r top_count top_item < <(awk -F, 'NR > 1 { n[$2]++ } END { for (i in n) print n[i], i }' "$data/ratings.csv" |
  sort -k1,1nr | head -1)
mapfile -t ids < <(sed -n '2,4p' "$data/items.csv" | cut -d, -f1)
echo "ok: demo data ($(($(wc -l < "$data/ratings.csv") - 1)) ratings; user 1 has ${#seen1[@]})"

# ---- trained from --data at start-up (ease: 399 items), 4 KiB messages
start data --data "$data" --rpc-server-max-msg-bytes 4096 --max-k 500
wait_loaded data
echo "ok: serving on $url, admin port $admin"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/healthz")" = 200 ] || fail "/healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/readyz")" = 200 ] || fail "/readyz"
echo "ok: /healthz /readyz 200"

rpc '{"request_id":"7","info":{}}' > "$tmp/info.json" || fail "info"
jq -e '.request_id == "7" and .model_name == "ease" and (.info.n_items | tonumber) == 399
  and (.info.n_users | tonumber) == 600 and .info.data_source != ""' "$tmp/info.json" > /dev/null ||
  fail "info: $(cat "$tmp/info.json")"
version=$(jq -r .model_version "$tmp/info.json")

# a known user: 10 items, none rated, best first, explained by rated items
rpc '{"score":{"user_id":"1","k":10,"explain":true}}' > "$tmp/user.json" || fail "score user"
jq -e --argjson seen "$seen1_json" --argjson n "${#seen1[@]}" '(.scored.items | length) == 10
  and .scored.history_used == $n
  and all(.scored.items[]; . as $i | $seen | index($i.item_id) | not)
  and all(.scored.items[]; . as $i | $seen | index($i.because_item_id))
  and ([.scored.items[].score] | . == (sort | reverse))' "$tmp/user.json" > /dev/null ||
  fail "score user 1: $(cat "$tmp/user.json")"
echo "ok: score user 1 (top: $(jq -r '.scored.items[0].item_id' "$tmp/user.json"))"

# an anonymous history: folded in, unknown id listed, history excluded
hist="[{\"item_id\":\"${seen1[0]}\",\"rating\":5},{\"item_id\":\"${seen1[1]}\",\"type\":\"EVENT_TYPE_VIEW\"},{\"item_id\":\"no-such-film\",\"rating\":4}]"
rpc "{\"score\":{\"history\":$hist,\"k\":5,\"explain\":true}}" > "$tmp/anon.json" || fail "score history"
jq -e --arg a "${seen1[0]}" --arg b "${seen1[1]}" '.scored.history_used == 2
  and .scored.unknown_item_ids == ["no-such-film"] and (.scored.items | length) == 5
  and all(.scored.items[]; .item_id != $a and .item_id != $b)
  and all(.scored.items[]; .because_item_id == $a or .because_item_id == $b)' "$tmp/anon.json" > /dev/null ||
  fail "anonymous history: $(cat "$tmp/anon.json")"
# nobody: popularity, the most rated item first
rpc '{"score":{"user_id":"nobody","k":3}}' > "$tmp/pop.json" || fail "popularity"
jq -e --argjson c "$top_count" '(.scored.history_used // 0) == 0 and (.scored.items | length) == 3
  and .scored.items[0].score == $c' "$tmp/pop.json" > /dev/null || fail "popularity: $(cat "$tmp/pop.json") (top $top_item $top_count)"
# candidates: exactly the known ones, ranked
rpc "{\"score\":{\"user_id\":\"1\",\"candidate_item_ids\":[\"${ids[2]}\",\"zz\",\"${ids[1]}\"]}}" > "$tmp/cand.json" ||
  fail "candidates"
jq -e '(.scored.items | length) == 2 and .scored.unknown_item_ids == ["zz"]
  and .scored.items[0].score >= .scored.items[1].score' "$tmp/cand.json" > /dev/null ||
  fail "candidates: $(cat "$tmp/cand.json")"
echo "ok: anonymous history, popularity, candidates"

rpc "{\"similar\":{\"item_id\":\"$top_item\",\"k\":5}}" > "$tmp/sim.json" || fail "similar"
jq -e --arg q "$top_item" '(.scored.items | length) == 5 and all(.scored.items[]; .item_id != $q)
  and ([.scored.items[].score] | . == (sort | reverse))' "$tmp/sim.json" > /dev/null ||
  fail "similar: $(cat "$tmp/sim.json")"
rpc "{\"predict\":{\"user_id\":\"1\",\"item_ids\":[\"${ids[0]}\",\"nope\",\"${ids[1]}\"]}}" > "$tmp/pred.json" ||
  fail "predict"
jq -e '(.predictions.ratings | length) == 3 and .predictions.unknown_item_ids == ["nope"]
  and all(.predictions.ratings[]; . >= 0.5 and . <= 5)' "$tmp/pred.json" > /dev/null ||
  fail "predict: $(cat "$tmp/pred.json")"
echo "ok: similar, predict"

# errors are answers
rc=0; rpc '{"similar":{"item_id":"no-such-film","k":5}}' > "$tmp/e.json" || rc=$?
[ $rc -eq 1 ] && [ "$(code_of "$tmp/e.json")" = WORKER_ERROR_CODE_NOT_FOUND ] && grep -q "no-such-film" "$tmp/e.json" ||
  fail "unknown item: rc $rc $(cat "$tmp/e.json")"
expect_error INVALID_ARGUMENT '{"score":{"user_id":"1","k":0}}' '{"score":{"user_id":"1","k":501}}' \
  "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":0}}" '{"predict":{"user_id":"1"}}' '{}' '{"items":{}}' \
  '{"score":{"k":3,"filters":{"year_min":2000,"year_max":1990}}}'
expect_malformed_refused
echo "ok: error answers (NOT_FOUND, INVALID_ARGUMENT, malformed bytes)"

# an over-limit request (8 KiB > 4 KiB) drops the connection; an over-limit
# reply (399 scored items) is RESOURCE_EXHAUSTED; the server lives on
expect_over_limit '{"score":{"user_id":"%s","k":5}}' '{"score":{"user_id":"nobody","k":500}}'

# SIGHUP under load: concurrent "user 1, k=10" calls, several reloads, 0 failures
HUP_CALLS=20000 # enough for several reloads even with fast calls
hup_under_load data '{"score":{"user_id":"1","k":10}}'

curl -s "http://127.0.0.1:$admin/metrics" > "$tmp/metrics.txt"
awk '/^recsys_worker_requests_total\{method="score",code="ok"\}/ { exit !($2 >= '"$HUP_CALLS"') }' "$tmp/metrics.txt" &&
  grep -q '^recsys_worker_requests_total{method="similar",code="not_found"} 1' "$tmp/metrics.txt" &&
  grep -q '^recsys_worker_requests_total{method="predict",code="ok"} 1' "$tmp/metrics.txt" &&
  grep -q '^recsys_worker_request_duration_seconds_count{method="score"}' "$tmp/metrics.txt" &&
  grep -Eq '^recsys_model_bytes [1-9]' "$tmp/metrics.txt" &&
  grep -Eq '^recsys_model_info\{name="ease",version="[^"]+"\} 1' "$tmp/metrics.txt" ||
  fail "metrics: $(grep -v '^#' "$tmp/metrics.txt" | grep -v bucket)"
echo "ok: /metrics (model was $version)"
stop data
echo "ok: SIGTERM -> exit 0"

# ---- model files from `recsys-cf train`: the same answers; SIGHUP re-maps
"$bin/recsys-cf" train --data "$data" --out "$tmp/cf.model" --mf-out "$tmp/mf.model" --log-level warn ||
  fail "train"
start file --model "$tmp" --data "$data" --cf-predict-model "$tmp/mf.model"
wait_loaded file
rpc '{"score":{"user_id":"1","k":10,"explain":true}}' > "$tmp/user-file.json" || fail "score (file)"
jq -e --slurpfile a "$tmp/user.json" '.scored == $a[0].scored' "$tmp/user-file.json" > /dev/null ||
  fail "model file answers differ: $(cat "$tmp/user-file.json")"
rpc "{\"predict\":{\"user_id\":\"1\",\"item_ids\":[\"${ids[0]}\",\"nope\",\"${ids[1]}\"]}}" > "$tmp/pred-file.json" ||
  fail "predict (file)"
jq -e --slurpfile a "$tmp/pred.json" '.predictions == $a[0].predictions' "$tmp/pred-file.json" > /dev/null ||
  fail "predict from the mf file differs: $(cat "$tmp/pred-file.json")"
rpc '{"score":{"user_id":"1","k":5,"filters":{"genres":["horror"]}}}' > "$tmp/genre.json" || fail "genre filter"
jq -e '(.scored.items | length) >= 1' "$tmp/genre.json" > /dev/null || fail "genre: $(cat "$tmp/genre.json")"
echo "ok: --model DIR (+ --data for genre names, mf file for predict) answers as the trained models"
hup_under_load file '{"score":{"user_id":"1","k":10}}'
stop file

# ---- corrupt model files: exit 1, the file named
refuse_corrupt_models "$bin/recsys-cf" "$tmp/cf.model"
echo "PASS"
