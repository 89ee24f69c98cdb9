#!/usr/bin/env bash
# cf_rpc.sh: per-request latency of "score a known user, k=10" through nng
# against a real `recsys-cf serve`, measured by recsys-rpc --repeat (the
# gateway's own rpc client, so the figures include its side of the hop).
#
#   bench/cf_rpc.sh BUILD_DIR [DATA_DIR|demo ...]   (default: demo = recsys-gen demo data)
#   CF_RPC_REPEAT=20000 CF_RPC_CONCURRENCY=8 CF_RPC_ROUNDS=3 bench/cf_rpc.sh build
#
# For each dataset: start the worker (trains at start-up: model per
# cf-model=auto), warm up with 2000 calls, then ROUNDS runs of REPEAT calls
# at CONCURRENCY in flight, round r asking for user id 7r (one user per
# round: recsys-rpc repeats one request). Prints one JSON summary per round
# (p50/p90/p99/max in microseconds). Only the worker
# started here is stopped, by pid. Run by hand; never by ctest.
set -euo pipefail
build=${1:?usage: bench/cf_rpc.sh BUILD_DIR [DATA_DIR...]}
shift
bin=$build/bin
repeat=${CF_RPC_REPEAT:-20000}
conc=${CF_RPC_CONCURRENCY:-8}
rounds=${CF_RPC_ROUNDS:-3}
tmp=$(mktemp -d /tmp/cf_rpc.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(demo)
for i in "${!sets[@]}"; do
  if [ "${sets[$i]}" = demo ]; then
    "$bin/recsys-gen" demo --out "$tmp/demo" --log-level warn
    sets[$i]=$tmp/demo
  fi
done

for data in "${sets[@]}"; do
  "$bin/recsys-cf" serve --data "$data" --listen "ipc://$tmp/cf.sock" --admin-port 0 --log-level info \
    2> "$tmp/serve.log" &
  pid=$!
  for _ in $(seq 1 1200); do
    grep -q '"model loaded"' "$tmp/serve.log" && break
    kill -0 "$pid" || { cat "$tmp/serve.log"; exit 1; }
    sleep 0.1
  done
  url=ipc://$tmp/cf.sock
  info=$("$bin/recsys-rpc" --url "$url" '{"info":{}}')
  echo "# $data: $(echo "$info" | jq -c '{model_name, n_items: .info.n_items, n_users: .info.n_users}')" \
    "load $(jq -r 'select(.msg == "model loaded") | .seconds' "$tmp/serve.log") s"
  used=$("$bin/recsys-rpc" --url "$url" '{"score":{"user_id":"7","k":10}}' | jq -r '.scored.history_used')
  [ "$used" != "0" ] || echo "# warning: user 7 unknown to the model (popularity answers)"
  "$bin/recsys-rpc" --url "$url" --repeat 2000 --concurrency "$conc" '{"score":{"user_id":"1","k":10}}' > /dev/null
  for r in $(seq 1 "$rounds"); do
    u=$((r * 7))
    "$bin/recsys-rpc" --url "$url" --repeat "$repeat" --concurrency "$conc" \
      "{\"score\":{\"user_id\":\"$u\",\"k\":10}}" | jq -c --arg u "$u" '{user: $u} + .'
  done
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
done
