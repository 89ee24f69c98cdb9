#!/usr/bin/env bash
# grpc_node.sh: the gateway's gRPC from Node with @grpc/grpc-js and
# @grpc/proto-loader (versions pinned by tests/node/package-lock.json),
# loading proto/ at run time: every method, NOT_FOUND, authorization
# metadata, 100 concurrent calls, health. The packages are installed with
# `npm ci` into the test's temporary directory (never into the tree); when
# node, npm or the install is not available the test skips and says why.
set -uo pipefail
source "$(dirname "$0")/gateway_env.bash"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
command -v node >/dev/null || skip "node not installed"
command -v npm >/dev/null || skip "npm not installed"
have_workers || skip "worker binaries not built"
mkdir -p "$T/node"
cp "$ROOT/tests/node/package.json" "$ROOT/tests/node/package-lock.json" "$ROOT/tests/node/grpc_smoke.js" "$T/node/"
(cd "$T/node" && timeout 180 npm ci --no-audit --no-fund --ignore-scripts >"$T/npm.log" 2>&1) ||
    skip "npm ci could not install @grpc/grpc-js and @grpc/proto-loader (no registry access?): $(tail -n 3 "$T/npm.log" | tr '\n' ' ')"
KEY=node-test-key
start_redis
start_content
start_cf
GW_FLAGS="--api-key $KEY"
start_gateway
wait_ready
node "$T/node/grpc_smoke.js" "$ROOT/proto" "127.0.0.1:$GW_PORT" "$KEY" || fail "grpc_smoke.js"
