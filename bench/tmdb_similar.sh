#!/usr/bin/env bash
# "Similar items" of a few well-known movies from recsys-content, with and
# without the TMDB join (--tmdb): starts recsys-content serve on the
# dataset (free ports, model built at start-up) once per setting, asks each
# item's top K through recsys-rpc and prints them as Markdown lists, plus
# the model size. Results and commands: bench/tmdb_join.md.
#
#   bench/tmdb_similar.sh BUILD_DIR ML_DIR TMDB_DIR [K] [ITEM_ID...] [-- CONTENT_OPTION...]
#   bench/tmdb_similar.sh build ../shared/data/ml-latest-small ../shared/data/tmdb-5000
# Not run by ctest (the machine is shared).
set -euo pipefail
build=${1:?BUILD_DIR} data=${2:?ML_DIR} tmdb=${3:?TMDB_DIR} k=${4:-5}
shift $(($# < 4 ? $# : 4))
items=() extra=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do items+=("$1"); shift; done
[ $# -gt 0 ] && shift && extra=("$@")
# Toy Story, Heat, Matrix, Godfather, Pulp Fiction, Dark Knight, Finding Nemo, Alien
[ ${#items[@]} -gt 0 ] || items=(1 6 2571 858 296 58559 6377 1214)
bin=$build/bin
log=$(mktemp) titles=$(mktemp)
pid=""
trap '[ -z "$pid" ] || kill -TERM $pid 2> /dev/null || true; rm -f "$log" "$titles"' EXIT
# id -> title, from the catalog as the services load it
"$bin/recsys-data" items --data "$data" --log-level warn |
  jq -R -s 'split("\n")[1:] | map(split("\t") | select(length > 2) | {(.[1]): .[2]}) | add' >"$titles"

run() { # run LABEL OPTION...
  local label=$1
  shift
  : >"$log"
  "$bin/recsys-content" serve --data "$data" "$@" ${extra[@]+"${extra[@]}"} \
    --listen tcp://127.0.0.1:0 --admin-port 0 2>"$log" &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q '"model loaded"' "$log" && break
    kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  local url
  url=$(jq -r 'select(.msg == "listening") | .rpc' "$log")
  echo "### $label"
  echo
  "$bin/recsys-rpc" --url "$url" '{"info":{}}' | jq -r '.info | "model: \(.n_items) items, \(.n_features) features"'
  echo
  for it in "${items[@]}"; do
    "$bin/recsys-rpc" --url "$url" "{\"similar\":{\"item_id\":\"$it\",\"k\":$k}}" |
      jq -r --arg it "$it" --slurpfile t "$titles" '"- **\($t[0][$it])**: " +
        ([.scored.items[] | "\($t[0][.item_id]) (\(.score * 1000 | round / 1000))"] | join("; "))'
  done
  echo
  kill -TERM $pid
  wait $pid 2>/dev/null || true
  pid=""
}
run "MovieLens only (no --tmdb)"
run "with --tmdb $(basename "$tmdb")" --tmdb "$tmdb"
