#!/usr/bin/env bash
# Latency of "similar items" through nng: starts recsys-content serve on a
# dataset (free ports, model built at start-up), then recsys-rpc --repeat
# with 1 and 8 calls in flight, for k = 10 (answered from the stored
# neighbour lists) and k = 100 (computed through the inverted index), and a
# history score (k = 10 over all items). Prints one JSON summary per run
# (p50/p90/p99/max in microseconds as the rpc client measured them: request
# encode excluded, nng round trip and worker included), then the worker's
# mean time per request from its /metrics histogram.
#
#   bench/content_rpc.sh BUILD_DIR DATA_DIR ITEM_ID [REPEAT]
#   bench/content_rpc.sh build /tmp/demo the-kid-1921
#   bench/content_rpc.sh build ../shared/data/ml-latest-small 1
# Not run by ctest (the machine is shared).
set -euo pipefail
build=${1:?BUILD_DIR} data=${2:?DATA_DIR} item=${3:?ITEM_ID} repeat=${4:-20000}
bin=$build/bin
log=$(mktemp)
"$bin/recsys-content" serve --data "$data" --listen tcp://127.0.0.1:0 --admin-port 0 2> "$log" &
pid=$!
trap 'kill -TERM $pid 2> /dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 600); do grep -q '"model loaded"' "$log" && break; sleep 0.1; done
grep '"model loaded"' "$log" | jq -c '{version, load_seconds: .seconds}'
url=$(jq -r 'select(.msg == "listening") | .rpc' "$log")
"$bin/recsys-rpc" --url "$url" '{"info":{}}' | jq -c '.info | {n_items, n_features}'
run() { # run LABEL CONCURRENCY JSON
  printf '%-22s c=%-2s ' "$1" "$2"
  "$bin/recsys-rpc" --url "$url" --repeat "$repeat" --concurrency "$2" "$3"
}
for c in 1 8; do
  run "similar k=10" $c "{\"similar\":{\"item_id\":\"$item\",\"k\":10}}"
  run "similar k=100" $c "{\"similar\":{\"item_id\":\"$item\",\"k\":100}}"
  run "score k=10 (1 event)" $c "{\"score\":{\"history\":[{\"item_id\":\"$item\",\"rating\":5}],\"k\":10}}"
done
# The worker's own time per request (decode, model, encode; no transport).
admin=$(jq -r 'select(.msg == "listening") | .admin_port' "$log")
curl -s "http://127.0.0.1:$admin/metrics" | awk '
  /^recsys_worker_request_duration_seconds_sum\{method="(similar|score)"\}/ { split($1, a, "\""); sum[a[2]] = $2 }
  /^recsys_worker_request_duration_seconds_count\{method="(similar|score)"\}/ { split($1, a, "\""); cnt[a[2]] = $2 }
  END { for (m in sum) if (cnt[m] > 0) printf "worker mean %s: %.1f us over %d requests\n", m, 1e6 * sum[m] / cnt[m], cnt[m] }'
kill -TERM $pid
wait $pid
