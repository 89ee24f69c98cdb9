#!/usr/bin/env bash
# deploy_manifests.sh: docker-compose.yml, the kustomize output (base, dev,
# prod), render.yaml and deploy/Dockerfile checked against the built
# binaries by tests/deploy_check.py (see its header for every rule). Then
# proves the check can fail: (1) binaries whose --help renames an option
# (recsys-cf's --listen becomes --rpc-listen) must break it, naming the
# stale variable; (2) a probe path that is not a real route must break it.
# Skips (77) without /usr/bin/python3 + python3-yaml or unbuilt binaries.
set -u
REPO=${RECSYS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${RECSYS_BIN_DIR:-$REPO/build/bin}
TMPBASE=${RECSYS_TEST_TMP:-/tmp}
mkdir -p "$TMPBASE"
T=$(mktemp -d "$TMPBASE/deploy-manifests.XXXXXX")
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
CHECK=$REPO/tests/deploy_check.py

fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x $PY ] || { echo "SKIP: $PY missing"; exit 77; }
$PY -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml missing (apt-get install python3-yaml)"; exit 77; }

# ---- the real files against the real binaries
RECSYS_SOURCE_DIR=$REPO RECSYS_BIN_DIR=$BIN $PY "$CHECK" >"$T/check.out" 2>&1
rc=$?
cat "$T/check.out"
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "deploy_check.py found problems (above)"
echo "ok - every deployment file agrees with the binaries' --help and routes"

# ---- (1) an option renamed in the binary breaks the check
mkdir -p "$T/bin"
for b in "$BIN"/recsys-*; do ln -s "$b" "$T/bin/$(basename "$b")"; done
rm "$T/bin/recsys-cf"
cat >"$T/bin/recsys-cf" <<EOF
#!/bin/sh
case " \$* " in
  *" --help "*) "$BIN/recsys-cf" "\$@" | sed 's/--listen=/--rpc-listen=/; s/RECSYS_LISTEN,/RECSYS_RPC_LISTEN,/'; exit 0 ;;
esac
exec "$BIN/recsys-cf" "\$@"
EOF
chmod +x "$T/bin/recsys-cf"
RECSYS_SOURCE_DIR=$REPO RECSYS_BIN_DIR=$T/bin $PY "$CHECK" >"$T/renamed.out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$T/renamed.out"; fail "a renamed option did not break the check (exit $rc)"; }
grep -q "recsys-cf serve: environment variable RECSYS_LISTEN is not one of its options" "$T/renamed.out" ||
    { cat "$T/renamed.out"; fail "the finding does not name RECSYS_LISTEN"; }
echo "ok - an option renamed in recsys-cf's --help breaks the check: $(grep -c '^FAIL' "$T/renamed.out") findings"

# ---- (2) a probe path that is no route breaks the check
mkdir -p "$T/src"
for f in CMakeLists.txt cmake proto common services tools .dockerignore docker-compose.yml render.yaml; do
    [ -e "$REPO/$f" ] && ln -s "$REPO/$f" "$T/src/$f"
done
mkdir -p "$T/src/deploy" "$T/src/tests"
ln -s "$REPO/deploy/Dockerfile" "$T/src/deploy/Dockerfile"
cp -r "$REPO/k8s" "$T/src/k8s"
sed -i '0,/path: \/readyz/s//path: \/ready/' "$T/src/k8s/base/content.yaml"
RECSYS_SOURCE_DIR=$T/src RECSYS_BIN_DIR=$BIN $PY "$CHECK" >"$T/probe.out" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$T/probe.out"; fail "a bad probe path did not break the check (exit $rc)"; }
grep -q "readiness path /ready: the running recsys-content serve answers 404" "$T/probe.out" ||
    { cat "$T/probe.out"; fail "the finding does not name the bad probe path"; }
echo "ok - a readiness probe on /ready (no such route) breaks the check"
