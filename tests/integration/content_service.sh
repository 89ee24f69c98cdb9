#!/usr/bin/env bash
# recsys-content serve as a real process over real nng sockets, driven by
# recsys-rpc: similar items, history scoring, catalog look-up and search,
# NOT_FOUND / INVALID_ARGUMENT answers, malformed bytes, an over-limit request
# (connection dropped, server unharmed) and an over-limit reply
# (RESOURCE_EXHAUSTED), /healthz /readyz /metrics, SIGHUP reloads under
# concurrent load with zero failed calls (built from --data and mapped from
# --model), SIGTERM exiting 0, and truncated / bit-flipped model files
# refused at start-up with exit 1 and the file named.
# Data: recsys-gen demo when it is built, else a small plain dataset written
# here. Ports: 0 (the kernel picks free ones; read back from the log).
# Only processes started here are signalled, by pid.
set -euo pipefail
bin=${RECSYS_BIN_DIR:?RECSYS_BIN_DIR not set}
for t in curl jq; do
  command -v $t > /dev/null || { echo "SKIP: needs $t"; exit 77; }
done
for b in recsys-content recsys-rpc; do
  [ -x "$bin/$b" ] || { echo "SKIP: $bin/$b not built"; exit 77; }
done
tmp=${RECSYS_TEST_TMP:-/tmp}/content_service.$$
mkdir -p "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }
worker=recsys-content
. "$(dirname "${BASH_SOURCE[0]}")/worker_env.bash"

# ---- data
data=$tmp/data
if [ -x "$bin/recsys-gen" ] && "$bin/recsys-gen" demo --out "$data" --log-level warn; then
  echo "ok: demo data from recsys-gen"
else
  mkdir -p "$data"
  genres=(Action Comedy Drama Horror Romance Sci-Fi Western Crime)
  { echo "item_id,title,year,genres,keywords,overview"
    for i in $(seq 1 300); do
      g1=${genres[$((i % 8))]}; g2=${genres[$(((i / 8) % 8))]}
      echo "m$i,A Long Descriptive Title Number $i,$((1950 + i % 70)),$g1|$g2,kw$((i % 13))|kw$((i % 7)),story $((i % 11)) about things"
    done; } > "$data/items.csv"
  { echo "user_id,item_id,rating"; for i in $(seq 1 300); do echo "u$((i % 9)),m$i,$((1 + i % 5))"; done; } \
    > "$data/ratings.csv"
  echo "ok: plain data written"
fi
# First items of the catalog (ids are the first CSV field; the generator's
# ids and the fallback's have no commas or quotes).
mapfile -t ids < <(sed -n '2,4p' "$data/items.csv" | cut -d, -f1)
[ "${#ids[@]}" -eq 3 ] || fail "could not read item ids from $data/items.csv"


# ---- a server built from --data, small message limit (4 KiB)
start data --data "$data" --rpc-server-max-msg-bytes 4096 --max-k 500
wait_loaded data
echo "ok: serving on $url, admin port $admin"

[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/healthz")" = 200 ] || fail "/healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/readyz")" = 200 ] || fail "/readyz"
echo "ok: /healthz /readyz 200"

# info
rpc '{"request_id":"9","info":{}}' > "$tmp/info.json" || fail "info"
jq -e '.request_id == "9" and .model_name == "tfidf" and (.info.n_items | tonumber) >= 300
       and .info.data_source != "" and (.model_version | startswith("tfidf-"))' "$tmp/info.json" > /dev/null ||
  fail "info: $(cat "$tmp/info.json")"
version=$(jq -r .model_version "$tmp/info.json")

# similar: at most k, never the item itself, scores positive and descending
rpc "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":10}}" > "$tmp/sim.json" || fail "similar"
jq -e --arg q "${ids[0]}" '.error == null and (.scored.items | length) >= 1 and (.scored.items | length) <= 10
  and all(.scored.items[]; .item_id != $q and .score > 0)
  and ([.scored.items[].score] | . == (sort | reverse))' "$tmp/sim.json" > /dev/null ||
  fail "similar: $(cat "$tmp/sim.json")"
# the same k through --repeat gives no failures; filters narrow the answer
rpc "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":10,\"filters\":{\"exclude_item_ids\":[$(jq -c '.scored.items[0].item_id' "$tmp/sim.json")]}}}" \
  > "$tmp/sim2.json" || fail "similar with exclusion"
jq -e --slurpfile a "$tmp/sim.json" '.scored.items[0].item_id == $a[0].scored.items[1].item_id' "$tmp/sim2.json" \
  > /dev/null || fail "exclusion: $(cat "$tmp/sim2.json")"
echo "ok: similar"

# score: a two-event history, explained by one of its items
rpc "{\"score\":{\"history\":[{\"item_id\":\"${ids[0]}\",\"rating\":5},{\"item_id\":\"${ids[1]}\",\"rating\":2},{\"item_id\":\"no-such-id\",\"rating\":4}],\"k\":5,\"explain\":true}}" \
  > "$tmp/score.json" || fail "score"
jq -e --arg a "${ids[0]}" --arg b "${ids[1]}" '.scored.history_used == 2 and .scored.unknown_item_ids == ["no-such-id"]
  and (.scored.items | length) == 5 and all(.scored.items[]; .item_id != $a and .item_id != $b)
  and (.scored.items[0].because_item_id == $a or .scored.items[0].because_item_id == $b)' "$tmp/score.json" \
  > /dev/null || fail "score: $(cat "$tmp/score.json")"
# candidates: exactly the known ones, ranked
rpc "{\"score\":{\"history\":[{\"item_id\":\"${ids[0]}\",\"rating\":5}],\"candidate_item_ids\":[\"${ids[2]}\",\"${ids[1]}\",\"zz\"]}}" \
  > "$tmp/cand.json" || fail "score candidates"
jq -e '(.scored.items | length) == 2 and .scored.unknown_item_ids == ["zz"]' "$tmp/cand.json" > /dev/null ||
  fail "candidates: $(cat "$tmp/cand.json")"
echo "ok: score"

# items: look-up gives the catalog's title; search finds it
title=$(jq -r '.items.items[0].title' <(rpc "{\"items\":{\"item_ids\":[\"${ids[0]}\",\"nope\"]}}"))
want=$(sed -n 2p "$data/items.csv" | cut -d, -f2)
[ "$title" = "$want" ] || fail "items look-up: '$title', want '$want'"
word=$want
rpc "{\"items\":{\"query\":\"$word\",\"k\":5}}" > "$tmp/search.json" || fail "search"
jq -e --arg id "${ids[0]}" 'any(.items.items[]; .item_id == $id)' "$tmp/search.json" > /dev/null ||
  fail "search '$word': $(cat "$tmp/search.json")"
echo "ok: items"

# errors are answers
rc=0; rpc '{"similar":{"item_id":"no-such-id","k":5}}' > "$tmp/e.json" || rc=$?
[ $rc -eq 1 ] && [ "$(code_of "$tmp/e.json")" = WORKER_ERROR_CODE_NOT_FOUND ] &&
  grep -q "no-such-id" "$tmp/e.json" || fail "unknown item: rc $rc $(cat "$tmp/e.json")"
expect_error INVALID_ARGUMENT "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":0}}" \
  "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":501}}" '{"score":{"k":5}}' '{"predict":{"item_ids":["x"]}}' \
  '{}' '{"items":{}}'
expect_malformed_refused
echo "ok: error answers (NOT_FOUND, INVALID_ARGUMENT, malformed bytes)"

# an over-limit request (8 KiB > 4 KiB): nng drops the connection, the call
# fails, the server lives on; an over-limit reply becomes RESOURCE_EXHAUSTED
expect_over_limit '{"similar":{"item_id":"%s","k":5}}' '{"items":{"query":"e","k":500}}'

# SIGHUP under load: a concurrent stream of similar calls, several reloads
# (each rebuilds from --data), zero failures
HUP_CALLS=30000 # enough for several reloads even with fast calls
hup_under_load data "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":10}}"

# /metrics: counts and latency by method, model size and version
curl -s "http://127.0.0.1:$admin/metrics" > "$tmp/metrics.txt"
grep -Eq '^recsys_worker_requests_total\{method="similar",code="ok"\} [0-9]+' "$tmp/metrics.txt" &&
  awk '/^recsys_worker_requests_total\{method="similar",code="ok"\}/ { exit !($2 >= '"$HUP_CALLS"') }' "$tmp/metrics.txt" &&
  grep -q '^recsys_worker_requests_total{method="similar",code="not_found"} 1' "$tmp/metrics.txt" &&
  grep -q '^recsys_worker_request_duration_seconds_count{method="score"}' "$tmp/metrics.txt" &&
  grep -Eq '^recsys_model_bytes [1-9]' "$tmp/metrics.txt" &&
  grep -q "^recsys_model_info{name=\"tfidf\",version=\"$version\"} 1" "$tmp/metrics.txt" ||
  fail "metrics: $(grep -v '^#' "$tmp/metrics.txt" | grep -v bucket)"
echo "ok: /metrics"
stop data
echo "ok: SIGTERM -> exit 0"

# ---- a model file: same answers, SIGHUP re-reads it
"$bin/recsys-content" build --data "$data" --out "$tmp/content.model" --log-level warn || fail "build"
start file --model "$tmp"
wait_loaded file
rpc "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":10}}" > "$tmp/sim-file.json" || fail "similar (file)"
jq -e --slurpfile a "$tmp/sim.json" '.scored == $a[0].scored and .model_version == $a[0].model_version' \
  "$tmp/sim-file.json" > /dev/null || fail "model file answers differ: $(cat "$tmp/sim-file.json")"
echo "ok: --model DIR answers as the built model"
hup_under_load file "{\"similar\":{\"item_id\":\"${ids[0]}\",\"k\":10}}"
stop file

# ---- corrupt model files: exit 1, the file named
refuse_corrupt_models "$bin/recsys-content" "$tmp/content.model"
echo "PASS"
