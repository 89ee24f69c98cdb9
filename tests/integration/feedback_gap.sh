#!/usr/bin/env bash
# export-feedback against a capped stream: a private redis-server gets
# entries XADDed in the gateway's format (gw_feedback.c: user, item, rating,
# type, ts in ms); XTRIM then drops entries the last export had not read.
# The next `export-feedback --since <last_id>` must fail (exit 1, nothing
# written) naming the id it resumes after and the first entry left, with
# the bound on what was lost; --allow-gap exports what is left with a
# warning; a resume with no gap is silent; a from-the-start export of a
# trimmed stream counts the lost entries exactly; entries trimmed only up to
# the cursor are no gap; XDEL after the cursor is one; a missing stream with
# --since is one; a bad --since is refused. Needs Redis >= 7 (XINFO STREAM
# entries-added); skips (77) without it or redis-server / redis-cli.
set -uo pipefail
bin=${RECSYS_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
for tool in redis-server redis-cli; do
  command -v $tool > /dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$bin/recsys-data" ] || { echo "SKIP: $bin/recsys-data not built"; exit 77; }
major=$(redis-server --version | sed -n 's/.* v=\([0-9]*\)\..*/\1/p')
[ "${major:-0}" -ge 7 ] || { echo "SKIP: redis-server ${major:-?}.x: the gap check needs Redis 7 (entries-added)"; exit 77; }
base=${RECSYS_TEST_TMP:-/tmp}
mkdir -p "$base"
tmp=$(mktemp -d "$base/feedback_gap.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do [ -e "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done; exit 1; }

source "$(dirname "$0")/free_port.bash"

port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" > "$tmp/redis.log" 2>&1 &
pids+=($!)
rcli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 50); do rcli ping > /dev/null 2>&1 && break; sleep 0.1; done
rcli ping > /dev/null 2>&1 || fail "redis-server did not start"

S=recsys:feedback
ids=()
# XADD as the gateway's script does (without MAXLEN here: the test trims)
xadd() {
  local id
  id=$(rcli XADD $S '*' user "u$1" item "m$1" rating "$2" type "$3" ts "$((1700000000000 + $1 * 1000))") || fail "XADD"
  [ -n "$id" ] || fail "XADD gave no id"
  ids+=("$id")
}
ex() { "$bin/recsys-data" export-feedback --redis-port "$port" --log-level warn "$@"; }
field() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$2"; }

# ---- a first export reads everything; last_id is the newest entry
for i in 1 2 3 4 5; do xadd $i 4 rating; done
ex --out "$tmp/a.csv" > "$tmp/a.out" 2> "$tmp/a.log" || fail "first export: $(cat "$tmp/a.log")"
last=$(field last_id "$tmp/a.out")
[ "$last" = "${ids[4]}" ] || fail "last_id '$last', want ${ids[4]}"
[ "$(field entries "$tmp/a.out")" = 5 ] && [ "$(field gap "$tmp/a.out")" = no ] || fail "first export: $(cat "$tmp/a.out")"
[ ! -s "$tmp/a.log" ] || fail "first export wrote to stderr: $(cat "$tmp/a.log")"
echo "ok: first export, 5 entries, last_id $last"

# ---- 5 more, then the stream is trimmed to 2: 6, 7, 8 were never exported
xadd 6 0 view; xadd 7 5 rating; xadd 8 0 click; xadd 9 3 rating; xadd 10 0 dislike
[ "$(rcli XTRIM $S MAXLEN 2)" = 8 ] || fail "XTRIM"
first_left=${ids[8]}
rc=0; ex --out "$tmp/b.csv" --since "$last" > "$tmp/b.out" 2> "$tmp/b.err" || rc=$?
[ "$rc" -eq 1 ] || fail "gap: exit $rc (want 1): $(cat "$tmp/b.err")"
grep -q "entries after $last were trimmed before they were exported" "$tmp/b.err" &&
  grep -q "the first entry left, $first_left, is newer than $last" "$tmp/b.err" &&
  grep -q "up to 8 entries lost (8 left the stream since it was created: entries-added 10, length 2)" "$tmp/b.err" &&
  grep -q -- "--allow-gap" "$tmp/b.err" || fail "gap message: $(cat "$tmp/b.err")"
[ -e "$tmp/b.csv" ] || [ -e "$tmp/b.csv.tmp" ] && fail "a file was left after the gap error"
[ ! -s "$tmp/b.out" ] || fail "gap error printed a summary: $(cat "$tmp/b.out")"
echo "ok: gap after $last refused (exit 1, both ids named, up to 8 lost, nothing written)"

# ---- --allow-gap: a warning, and what is left (9, 10) is exported
ex --out "$tmp/b.csv" --since "$last" --allow-gap > "$tmp/b.out" 2> "$tmp/b.err" || fail "--allow-gap: $(cat "$tmp/b.err")"
grep -q "recsys-data: warning: stream $S: entries after $last were trimmed" "$tmp/b.err" &&
  grep -q "$first_left" "$tmp/b.err" || fail "--allow-gap warning: $(cat "$tmp/b.err")"
expected="user_id,item_id,rating,timestamp,implicit
u9,m9,3,1700000009,0
u10,m10,1,1700000010,1"
[ "$(cat "$tmp/b.csv")" = "$expected" ] || fail "--allow-gap CSV:
$(cat "$tmp/b.csv")"
last=$(field last_id "$tmp/b.out")
[ "$last" = "${ids[9]}" ] && [ "$(field gap "$tmp/b.out")" = yes ] || fail "--allow-gap summary: $(cat "$tmp/b.out")"
echo "ok: --allow-gap warns and exports the 2 entries left (implicit column), last_id $last"

# ---- resume with no gap: silent, exactly the new entries
xadd 11 0 view; xadd 12 2 rating
ex --out "$tmp/c.csv" --since "$last" > "$tmp/c.out" 2> "$tmp/c.err" || fail "resume: $(cat "$tmp/c.err")"
[ ! -s "$tmp/c.err" ] || fail "resume wrote to stderr: $(cat "$tmp/c.err")"
[ "$(field entries "$tmp/c.out")" = 2 ] && [ "$(field gap "$tmp/c.out")" = no ] &&
  [ "$(field last_id "$tmp/c.out")" = "${ids[11]}" ] || fail "resume summary: $(cat "$tmp/c.out")"
[ "$(tail -n +2 "$tmp/c.csv")" = "u11,m11,4,1700000011,1
u12,m12,2,1700000012,0" ] || fail "resume CSV: $(cat "$tmp/c.csv")"
last=${ids[11]}
echo "ok: resume after $(field last_id "$tmp/b.out") exports 11, 12 with no warning"

# ---- from the start, the trimmed stream: the lost count is exact
rc=0; ex --out "$tmp/d.csv" > /dev/null 2> "$tmp/d.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "stream $S: 8 entries were trimmed or deleted before they were exported (entries-added 12, length 4); the first entry left is $first_left" "$tmp/d.err" ||
  fail "from the start: exit $rc: $(cat "$tmp/d.err")"
# 0-0 (the last_id of an export that found nothing) is the start too
rc=0; ex --out "$tmp/d.csv" --since 0-0 > /dev/null 2> "$tmp/d.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "8 entries were trimmed" "$tmp/d.err" || fail "--since 0-0: exit $rc: $(cat "$tmp/d.err")"
echo "ok: from the start: exactly 8 entries lost"

# ---- trimmed, but only up to the cursor: no gap
[ "$(rcli XTRIM $S MAXLEN 1)" = 3 ] || fail "XTRIM 1"
xadd 13 5 rating
ex --out "$tmp/e.csv" --since "$last" > "$tmp/e.out" 2> "$tmp/e.err" || fail "trimmed up to the cursor: $(cat "$tmp/e.err")"
[ ! -s "$tmp/e.err" ] && [ "$(field entries "$tmp/e.out")" = 1 ] && [ "$(field gap "$tmp/e.out")" = no ] ||
  fail "trimmed up to the cursor: $(cat "$tmp/e.out" "$tmp/e.err")"
last=${ids[12]}
echo "ok: entries trimmed only up to the cursor are no gap"

# ---- XDEL of an entry after the cursor is a gap too
xadd 14 1 rating; xadd 15 2 rating
rcli XDEL $S "${ids[13]}" > /dev/null
rc=0; ex --out "$tmp/f.csv" --since "$last" > /dev/null 2> "$tmp/f.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "entries after $last were deleted before they were exported: max-deleted-entry-id ${ids[13]}" "$tmp/f.err" ||
  fail "XDEL: exit $rc: $(cat "$tmp/f.err")"
echo "ok: XDEL after the cursor refused (max-deleted-entry-id named)"

# ---- a missing stream with --since; a bad --since
rc=0; ex --out "$tmp/g.csv" --stream no:such --since "$last" > /dev/null 2> "$tmp/g.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "stream no:such does not exist, but --since $last resumes an earlier export" "$tmp/g.err" ||
  fail "missing stream: exit $rc: $(cat "$tmp/g.err")"
ex --out "$tmp/g.csv" --stream no:such > "$tmp/g.out" 2> "$tmp/g.err" && [ "$(field entries "$tmp/g.out")" = 0 ] ||
  fail "missing stream from the start: $(cat "$tmp/g.err")"
rc=0; ex --out "$tmp/h.csv" --since 12x > /dev/null 2> "$tmp/h.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "since '12x' is not a stream id" "$tmp/h.err" || fail "bad --since: exit $rc: $(cat "$tmp/h.err")"
echo "ok: missing stream with --since refused (without: empty export); bad --since refused"

# ---- paging: a gap is checked on every page, in the same snapshot as the page
rcli EVAL "for i = 1, 10003 do redis.call('XADD', KEYS[1], '*', 'user', 'p' .. i, 'item', 'm', 'rating', '3', 'type', 'rating', 'ts', '1700000000000') end return 1" 1 paged > /dev/null || fail "bulk XADD"
ex --out "$tmp/p.csv" --stream paged > "$tmp/p.out" 2> "$tmp/p.err" || fail "paged: $(cat "$tmp/p.err")"
[ "$(field entries "$tmp/p.out")" = 10003 ] && [ ! -s "$tmp/p.err" ] || fail "paged: $(cat "$tmp/p.out" "$tmp/p.err")"
echo "ok: 10003 entries over two pages, no gap"
echo "PASS"
