#!/usr/bin/env bash
# recsys-eval on ml-100k R1: the popularity row of --json matches
# shared/fixtures/ml100k_ua_popularity_top10_metrics.json to 1e-12, and the
# same split given as a .tsv.gz --split file gives the same numbers.
# Skips (77) when the shared data is absent.
set -euo pipefail
bin=${RECSYS_BIN_DIR:?RECSYS_BIN_DIR not set}
shared=${RECSYS_SHARED:-../shared}
data=$shared/data/ml-100k
fixture=$shared/fixtures/ml100k_ua_popularity_top10_metrics.json
if [ ! -f "$data/ua.base" ] || [ ! -f "$fixture" ]; then
  echo "SKIP: needs $data and $fixture"; exit 77
fi
tmp=${RECSYS_TEST_TMP:-/tmp}/eval_r1.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# value KEY FILE: the first number following "KEY": in FILE
value() { grep -o "\"$1\":[[:space:]]*[-0-9.eE+]*" "$2" | head -1 | sed 's/.*:[[:space:]]*//'; }

check() { # check JSON_FILE LABEL
  for m in P@10 R@10 NDCG@10 MAP@10 HR@10 Coverage@10; do
    got=$(value "$m" "$1"); want=$(value "$m" "$fixture")
    [ -n "$got" ] || { echo "FAIL: $2: no $m in $1"; cat "$1"; exit 1; }
    awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 1e-12) }' ||
      { echo "FAIL: $2: $m = $got, fixture $want"; exit 1; }
    echo "ok: $2 $m = $got"
  done
}

"$bin/recsys-eval" --data "$data" --protocol R1 --models popularity --json "$tmp/r1.json" \
  --log-level warn > "$tmp/table.txt"
grep -q '"model":[[:space:]]*"popularity"' "$tmp/r1.json" || { echo "FAIL: no popularity row"; exit 1; }
grep -q '"protocol":[[:space:]]*"R1"' "$tmp/r1.json" || { echo "FAIL: no protocol R1"; exit 1; }
grep -q '"fit_seconds"' "$tmp/r1.json" || { echo "FAIL: no fit_seconds"; exit 1; }
grep -q '| R1 | ua | popularity | 0.0836 | 0.1498 | 0.1333 | 0.0648 | 0.5771 | 0.0529 |' "$tmp/table.txt" ||
  { echo "FAIL: table"; cat "$tmp/table.txt"; exit 1; }
check "$tmp/r1.json" "ua"

# The same split as a gzip'd split file.
{ printf 'user\titem\trating\ttimestamp\tis_test\n'
  awk -F'\t' -v OFS='\t' '{ print $1, $2, $3, $4, 0 }' "$data/ua.base"
  awk -F'\t' -v OFS='\t' '{ print $1, $2, $3, $4, 1 }' "$data/ua.test"; } | gzip > "$tmp/ua.tsv.gz"
"$bin/recsys-eval" --data "$data" --protocol R1 --models popularity --split "$tmp/ua.tsv.gz" \
  --json "$tmp/split.json" --log-level warn > /dev/null
check "$tmp/split.json" "ua.tsv.gz"

# Errors are messages, not crashes.
if "$bin/recsys-eval" --data "$data" --protocol R9 2> "$tmp/err.txt"; then
  echo "FAIL: --protocol R9 accepted"; exit 1
fi
grep -q 'expected R1, R2, R3' "$tmp/err.txt" || { echo "FAIL: $(cat "$tmp/err.txt")"; exit 1; }
printf 'user\titem\trating\ttimestamp\tis_test\n1\t99999\t4\t0\t1\n' > "$tmp/bad.tsv"
if "$bin/recsys-eval" --data "$data" --protocol R1 --split "$tmp/bad.tsv" 2> "$tmp/err.txt"; then
  echo "FAIL: bad split accepted"; exit 1
fi
grep -q "bad.tsv:2: unknown item id '99999'" "$tmp/err.txt" || { echo "FAIL: $(cat "$tmp/err.txt")"; exit 1; }
if "$bin/recsys-eval" --data "$data" --protocol R6 --tune 2> "$tmp/err.txt"; then
  echo "FAIL: --tune with R6 accepted"; exit 1
fi
grep -q 'fits the hybrid policy on R5' "$tmp/err.txt" || { echo "FAIL: $(cat "$tmp/err.txt")"; exit 1; }
if "$bin/recsys-eval" --data "$data" --protocol R1 --blend-popularity-decay=-1 2> "$tmp/err.txt"; then
  echo "FAIL: a negative popularity decay accepted"; exit 1
fi
grep -q 'blend-popularity-decay' "$tmp/err.txt" || { echo "FAIL: $(cat "$tmp/err.txt")"; exit 1; }
echo "ok: errors"
