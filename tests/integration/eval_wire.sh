#!/usr/bin/env bash
# eval_wire.sh: EVALUATION.md R5/R6 over the wire agree with recsys-eval.
# recsys-eval --write-train writes the training users of a seeded user
# hold-out of ml-latest-small; Redis, both workers and the gateway start on
# it (real processes on loopback, gateway_env.bash); recsys-wireval sends
# the held-out users' histories (a) in Recommend and (b) by AddFeedback for
# a fresh user id + GET recommendations, and must get identical lists; its
# metrics must match recsys-eval's served hybrid on the same users within
# a tolerance (the services answer from the same library code and the same
# training data, so they agree to float rounding; see bench/eval_r5_r6_r7.md).
# Skips (77) without the shared datasets ($RECSYS_SHARED/data).
. "$(dirname "$0")/gateway_env.bash"
have_workers || skip "workers not built"
[ -x "$BIN/recsys-eval" ] && [ -x "$BIN/recsys-wireval" ] || skip "no recsys-eval / recsys-wireval"
SHARED=${RECSYS_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
DATA=$SHARED/data/ml-latest-small
[ -f "$DATA/ratings.csv" ] || skip "no $DATA (set RECSYS_SHARED to the shared folder)"

SEED=${EVAL_WIRE_SEED:-3}
USERS=${EVAL_WIRE_USERS:-40}
TOL=${EVAL_WIRE_TOL:-0.02}
rm -rf "$T/data"
"$BIN/recsys-eval" --data "$DATA" --protocol R5 --seed $SEED --write-train "$T/data" 2>"$T/write.log" ||
    fail "recsys-eval --write-train: $(cat "$T/write.log")"
[ -s "$T/data/ratings.csv" ] || fail "no train ratings written"
ok "train users written ($(($(wc -l <"$T/data/ratings.csv") - 1)) ratings)"

GW_FLAGS="--cache-ttl-ms 0"
start_redis
start_content
start_cf
start_gateway
wait_ready
ok "services ready on the training users"

"$BIN/recsys-eval" --data "$DATA" --protocol R5 --seed $SEED --max-users $USERS --models hybrid \
    --ns 1,5,20 --json "$T/off_r5.json" --log-level warn >"$T/off_r5.txt" 2>"$T/off.log" ||
    fail "recsys-eval R5: $(cat "$T/off.log")"
"$BIN/recsys-wireval" --data "$DATA" --protocol R5 --seed $SEED --max-users $USERS --ns 1,5,20 \
    --gateway "$GW" --require-identical --compare "$T/off_r5.json" --tolerance "$TOL" \
    --json "$T/wire_r5.json" >"$T/wire_r5.txt" 2>"$T/wire.log" ||
    fail "recsys-wireval R5: $(cat "$T/wire.log") $(cat "$T/wire_r5.txt")"
cat "$T/wire_r5.txt"
grep -q "lists differ (identical)" "$T/wire_r5.txt" || fail "history and AddFeedback paths differ"
ok "R5: history path and AddFeedback path give identical lists; offline and wire agree within $TOL"

"$BIN/recsys-eval" --data "$DATA" --protocol R6 --seed $SEED --max-users $USERS \
    --json "$T/off_r6.json" --log-level warn >"$T/off_r6.txt" 2>"$T/off.log" ||
    fail "recsys-eval R6: $(cat "$T/off.log")"
"$BIN/recsys-wireval" --data "$DATA" --protocol R6 --seed $SEED --max-users $USERS \
    --gateway "$GW" --compare "$T/off_r6.json" --tolerance "$TOL" >"$T/wire_r6.txt" 2>"$T/wire.log" ||
    fail "recsys-wireval R6: $(cat "$T/wire.log") $(cat "$T/wire_r6.txt")"
cat "$T/wire_r6.txt"
ok "R6: SimilarItems per mode over the wire agree with offline within $TOL"

"$BIN/recsys-eval" --data "$DATA" --protocol R7 --seed $SEED --max-users $USERS --models hybrid \
    --ns 5,20 --json "$T/off_r7.json" --log-level warn >"$T/off_r7.txt" 2>"$T/off.log" ||
    fail "recsys-eval R7: $(cat "$T/off.log")"
"$BIN/recsys-wireval" --data "$DATA" --protocol R7 --seed $SEED --max-users $USERS --ns 5,20 \
    --gateway "$GW" --compare "$T/off_r7.json" --tolerance "$TOL" >"$T/wire_r7.txt" 2>"$T/wire.log" ||
    fail "recsys-wireval R7: $(cat "$T/wire.log") $(cat "$T/wire_r7.txt")"
grep -q "R7-without-low" "$T/wire_r7.txt" || fail "no R7 rows: $(cat "$T/wire_r7.txt")"
ok "R7: with and without the low ratings over the wire agree with offline within $TOL"
