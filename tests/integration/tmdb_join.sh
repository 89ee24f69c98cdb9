#!/usr/bin/env bash
# --tmdb with the real data: recsys-data info on ml-latest-small joined with
# tmdb-5000 (no credits file in the shared copy) reports the join numbers of
# bench/tmdb_join.md, RECSYS_TMDB does the same as the flag, Toy Story gets
# TMDB's keywords, and --tmdb with ml-100k (no links) is an error.
# Skips (77) when the shared data is absent.
set -euo pipefail
bin=${RECSYS_BIN_DIR:?RECSYS_BIN_DIR not set}
shared=${RECSYS_SHARED:-../shared}
ml=$shared/data/ml-latest-small tmdb=$shared/data/tmdb-5000
if [ ! -f "$ml/links.csv" ] || [ ! -f "$tmdb/tmdb_5000_movies.csv" ]; then
  echo "SKIP: needs $ml and $tmdb (RECSYS_SHARED=$shared)"; exit 77
fi
tmp=${RECSYS_TEST_TMP:-/tmp}/tmdb_join.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

"$bin/recsys-data" info --data "$ml" --tmdb "$tmdb" >"$tmp/info.tsv" 2>"$tmp/log"
expect() { # expect KEY VALUE: the info line KEY has VALUE as its first field
  got=$(awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$tmp/info.tsv")
  [ "$got" = "$2" ] || { echo "FAIL: $1 = '$got', want $2"; cat "$tmp/info.tsv"; exit 1; }
  echo "ok: $1 = $got"
}
expect tmdb_records 4803
expect tmdb_linked_items 9734
expect tmdb_matched_items 3537
expect tmdb_matched_rated_items 3536
expect tmdb_ratings_covered 70194
expect items_with_overview 3537
expect credits no
grep -q $'^tmdb_ratings_covered\t70194\t(69.6% of 100836 ratings)$' "$tmp/info.tsv" ||
  { echo "FAIL: coverage line"; cat "$tmp/info.tsv"; exit 1; }
grep -q '"msg":"tmdb join".*"matched_items":3537' "$tmp/log" ||
  { echo "FAIL: no tmdb join log line"; cat "$tmp/log"; exit 1; }
echo "ok: the load logs the join"

RECSYS_TMDB=$tmdb "$bin/recsys-data" info --data "$ml" --log-level warn >"$tmp/env.tsv"
cmp -s <(grep -v '^load_ms' "$tmp/info.tsv") <(grep -v '^load_ms' "$tmp/env.tsv") ||
  { echo "FAIL: RECSYS_TMDB differs from --tmdb"; diff "$tmp/info.tsv" "$tmp/env.tsv"; exit 1; }
echo "ok: RECSYS_TMDB = --tmdb"

# Toy Story: MovieLens title and genres, TMDB keywords (column 10 of items).
"$bin/recsys-data" items --data "$ml" --tmdb "$tmdb" --search "Toy Story (1995)" --log-level warn \
  >"$tmp/items.tsv"
line=$(awk -F'\t' '$2 == "1"' "$tmp/items.tsv")
[ "$(cut -f5 <<<"$line")" = "Adventure|Animation|Children|Comedy|Fantasy" ] ||
  { echo "FAIL: Toy Story genres: $line"; exit 1; }
case "$(cut -f10 <<<"$line")" in
  jealousy\|toy\|boy\|friendship*) echo "ok: Toy Story keywords from TMDB" ;;
  *) echo "FAIL: Toy Story keywords: $line"; exit 1 ;;
esac

# Without --tmdb: no overview, no keywords.
"$bin/recsys-data" info --data "$ml" --log-level warn >"$tmp/plain.tsv"
grep -q $'^items_with_overview\t0$' "$tmp/plain.tsv" && ! grep -q '^tmdb_' "$tmp/plain.tsv" ||
  { echo "FAIL: without --tmdb"; cat "$tmp/plain.tsv"; exit 1; }
echo "ok: nothing joined without --tmdb"

# --tmdb-tags: cast and director from the notebook's table (no credits file).
tags=$shared/data/tmdb-5000-seed-tags/processed_movies.csv
if [ -f "$tags" ]; then
  "$bin/recsys-data" info --data "$ml" --tmdb "$tmdb" --tmdb-tags "$tags" --log-level warn >"$tmp/tags.tsv"
  grep -q $'^tmdb_records\t4803\t(credits: seed tags)$' "$tmp/tags.tsv" &&
    grep -q $'^tmdb_seed_tags\t3537\t(matched items with a seed-tags row; 0 did not fit their record)$' "$tmp/tags.tsv" ||
    { echo "FAIL: --tmdb-tags info"; cat "$tmp/tags.tsv"; exit 1; }
  gained=$(grep '^tmdb_items_gained' "$tmp/tags.tsv")
  [[ "$gained" =~ cast\ 3537 ]] && [[ "$gained" =~ directors\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 3300 ] ||
    { echo "FAIL: --tmdb-tags gained: $gained"; exit 1; }
  "$bin/recsys-data" items --data "$ml" --tmdb "$tmdb" --tmdb-tags "$tags" --search "Toy Story (1995)" \
    --log-level warn >"$tmp/items_tags.tsv"
  grep -q "tomhanks" "$tmp/items_tags.tsv" && grep -q "johnlasseter" "$tmp/items_tags.tsv" ||
    { echo "FAIL: Toy Story cast/director from the tags"; cat "$tmp/items_tags.tsv"; exit 1; }
  echo "ok: --tmdb-tags: $gained"
else
  echo "skip: no $tags (the --tmdb-tags checks)"
fi

# A layout without links.
if "$bin/recsys-data" info --data "$shared/data/ml-100k" --tmdb "$tmdb" >/dev/null 2>"$tmp/err"; then
  echo "FAIL: --tmdb with ml-100k loaded"; exit 1
fi
grep -q "layout ml-100k has no links to TMDB ids" "$tmp/err" ||
  { echo "FAIL: ml-100k message"; cat "$tmp/err"; exit 1; }
echo "ok: --tmdb with ml-100k: $(cat "$tmp/err")"
