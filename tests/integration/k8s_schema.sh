#!/usr/bin/env bash
# k8s_schema.sh: the Kubernetes manifests validated offline against the
# Kubernetes API schema. kubernetes-models (npm, pinned with its
# dependencies in tests/k8s-schema/package-lock.json, installed with
# `npm ci` into build/k8s-schema and reused while the lock is unchanged)
# carries the JSON schemas of every built-in kind, compiled from
# Kubernetes' OpenAPI document; tests/k8s-schema/validate.mjs checks each
# object: types, required fields, enums (the schema allows unknown fields,
# as the API server does without strict validation). The objects are those
# tests/deploy_check.py checks: with kubectl, the kustomize output of the
# base and of each overlay; without it, the base's resource files (overlays
# only patch them). Then proves it can fail: a Deployment whose probe has no
# port and a Service whose port is a word must be reported.
# Skips (77) without node and npm, without /usr/bin/python3 + python3-yaml,
# or when npm ci cannot fetch the pinned packages.
set -u
REPO=${RECSYS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMPBASE=${RECSYS_TEST_TMP:-/tmp}
mkdir -p "$TMPBASE"
T=$(mktemp -d "$TMPBASE/k8s-schema.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
PY=/usr/bin/python3
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are needed (kubernetes-models)"
[ -x $PY ] && $PY -c 'import yaml' 2>/dev/null || skip "/usr/bin/python3 with python3-yaml is needed"

SRC=$REPO/tests/k8s-schema
DIR=${RECSYS_K8S_SCHEMA_DIR:-$REPO/build/k8s-schema}
mkdir -p "$DIR"
if ! cmp -s "$SRC/package-lock.json" "$DIR/package-lock.json" || [ ! -d "$DIR/node_modules/kubernetes-models" ]; then
    cp "$SRC/package.json" "$SRC/package-lock.json" "$DIR/"
    (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
        skip "npm ci of tests/k8s-schema failed (registry unreachable?): $(tail -n 3 "$T/npm.log")"
fi
cp "$SRC/validate.mjs" "$DIR/"
echo "schema: kubernetes-models $(cd "$DIR" && node -p 'require("./node_modules/kubernetes-models/package.json").version')"

# The objects deploy_check.py sees (kustomize output, or the base by hand).
RECSYS_SOURCE_DIR=$REPO $PY - >"$T/objs.json" <<'PYEOF' || fail "collecting the manifests"
import contextlib, json, os, sys
sys.path.insert(0, os.path.join(os.environ["RECSYS_SOURCE_DIR"], "tests"))
import deploy_check as d
out = []
with contextlib.redirect_stdout(sys.stderr):  # its notes and findings
    sets = d.kustomize_sets()
for label, objs in sets:
    for o in objs:
        if isinstance(o, dict) and "apiVersion" in o:  # hand-made generator stand-ins have none
            out.append({"where": label, "doc": o})
if d.FINDINGS:
    sys.exit(1)
json.dump(out, sys.stdout)
PYEOF
(cd "$DIR" && node validate.mjs) <"$T/objs.json" >"$T/valid.out" 2>&1
rc=$?
cat "$T/valid.out"
[ $rc = 0 ] || fail "manifests do not match the Kubernetes API schema (above)"
n=$(tail -n 1 "$T/valid.out" | awk '{print $1}')
[ "$n" -ge 10 ] || fail "only $n objects validated"
echo "ok - $n Kubernetes objects match the API schema"

# It can fail: a probe without a port, a Service port that is a word.
$PY - "$T/objs.json" >"$T/broken.json" <<'PYEOF'
import json, sys
objs = json.load(open(sys.argv[1]))
for o in objs:
    d = o["doc"]
    if d["kind"] == "Deployment":
        d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"path": "/healthz"}}
        break
for o in objs:
    d = o["doc"]
    if d["kind"] == "Service":
        d["spec"]["ports"][0]["port"] = "http"
        break
json.dump(objs, sys.stdout)
PYEOF
(cd "$DIR" && node validate.mjs) <"$T/broken.json" >"$T/broken.out" 2>&1 && fail "broken manifests passed: $(cat "$T/broken.out")"
grep -q "httpGet must have required property port" "$T/broken.out" || fail "missing probe port not reported: $(cat "$T/broken.out")"
grep -q "ports/0/port must be integer" "$T/broken.out" || fail "word as a Service port not reported: $(cat "$T/broken.out")"
echo "ok - a probe without a port and a Service port that is a word are reported"
