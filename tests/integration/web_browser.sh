#!/usr/bin/env bash
# web_browser.sh: the gateway's web page in real headless Chromium (Debian's
# chromium package, driven by playwright-core from npm, pinned in
# tests/web/package-lock.json; no browser is ever downloaded). Starts Redis,
# both workers and the gateway (gateway_env.bash) on ml-latest-small from
# $RECSYS_SHARED/data when it is there, else on the demo data, and runs
# tests/web/browser.mjs: type "Toy Story" + Enter opens it with similar
# movies (Toy Story 2 among the content ones; on ml-latest-small among the
# blended ones too), arrow keys pick a suggestion, the mode switch and k,
# three ratings change "for you" and one of them is cited, a disliked movie
# is never cited, a known user's picks, the CF worker killed gives the
# degraded banner while the page still answers, a gateway error is shown,
# a phone-sized viewport does not overflow; no console error or failed
# request on any step. One screenshot per step goes to
# $RECSYS_TEST_TMP/web_browser-shots (kept after the test; the README's
# docs/web-page.png is its "readme" step).
#
# playwright-core is installed with `npm ci` into <build>/web-test (once;
# again when the lockfile changes). Skips (77) only when node is missing or
# Chromium cannot be launched. RECSYS_WEB_DEMO=1 uses the demo data even
# when ml-latest-small is there (so do sanitizer builds).
set -u
source "$(dirname "$0")/gateway_env.bash"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

SRC=${RECSYS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHROMIUM=${RECSYS_CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm not installed (deploy/install-deps.sh)"
[ -x "$CHROMIUM" ] || skip "no Chromium at $CHROMIUM (Debian package chromium; deploy/install-deps.sh)"
have_workers || skip "worker binaries missing"

# ---- playwright-core into the build tree
WT=$(cd "$BIN/.." && pwd)/web-test
mkdir -p "$WT"
if ! cmp -s "$SRC/tests/web/package-lock.json" "$WT/package-lock.json" || [ ! -d "$WT/node_modules/playwright-core" ]; then
    cp "$SRC/tests/web/package.json" "$SRC/tests/web/package-lock.json" "$WT/"
    (cd "$WT" && npm ci --ignore-scripts --no-audit --no-fund >"$T/npm.log" 2>&1) ||
        fail "npm ci of tests/web/package-lock.json failed: $(tail -n 5 "$T/npm.log")"
fi
cp "$SRC/tests/web/browser.mjs" "$WT/"

# ---- the data: ml-latest-small when present, else the demo data
KIND=demo
ML=${RECSYS_SHARED:-$SRC/../shared}/data/ml-latest-small
# Sanitizer builds train ml-latest-small several times slower; the C code
# this test reaches is the same on the demo data, so they use it.
if grep -q __asan_init "$BIN/recsys-cf" 2>/dev/null; then
    echo "ASan build: the demo data keeps this test short"
    RECSYS_WEB_DEMO=1
fi
if [ -f "$ML/ratings.csv" ] && [ "${RECSYS_WEB_DEMO:-0}" != 1 ]; then
    rm -rf "$T/data"
    ln -s "$(cd "$ML" && pwd)" "$T/data"
    KIND=ml
    echo "data: ml-latest-small ($ML)"
else
    echo "data: demo (ml-latest-small not used: no $ML/ratings.csv or RECSYS_WEB_DEMO=1; its checks are skipped)"
fi

start_redis
start_content
start_cf
start_gateway
wait_ready
ok "stack ready on $KIND data"

OUT=${RECSYS_WEB_SHOTS:-$TMPBASE/web_browser-shots}
rm -rf "$OUT"
mkdir -p "$OUT"
GW_URL=$GW OUT_DIR=$OUT CF_PID=$CF_PID DATA_KIND=$KIND CHROMIUM=$CHROMIUM \
    timeout 150 node "$WT/browser.mjs"
rc=$?
wait "$CF_PID" 2>/dev/null # killed by the "worker down" step
case $rc in
    0) ok "browser steps passed; screenshots in $OUT" ;;
    77) exit 77 ;;
    124) fail "browser steps timed out after 150 s (screenshots so far in $OUT)" ;;
    *) fail "browser steps failed (exit $rc; screenshots in $OUT)" ;;
esac
