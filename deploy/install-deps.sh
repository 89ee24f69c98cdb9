#!/usr/bin/env bash
# Installs every Debian 12 package recsys needs to build, test and run.
# Idempotent: packages already present are skipped, so a second run is quick.
# Usage: deploy/install-deps.sh [--runtime-only]
# The container tools (podman with runc, buildah, debootstrap for a base image
# when no registry answers, the CNI dnsname plugin for compose service names)
# serve tests/integration/container.sh and compose.sh.
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  protobuf-c-compiler libprotobuf-c-dev
  libnng-dev libuv1-dev libhiredis-dev libhttp-parser-dev libcjson-dev libnghttp2-dev
  libcmocka-dev libopenblas-dev liblapacke-dev zlib1g-dev
  redis-server redis-tools
  nghttp2-client protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf prometheus
  python3 python3-yaml jq python3-jsonschema docker-compose curl ca-certificates
  chromium
  libnss-wrapper
  podman buildah runc debootstrap golang-github-containernetworking-plugin-dnsname
)
# The web page's browser test (tests/integration/web_browser.sh) drives
# chromium with playwright-core from npm: Debian's node and npm unless a node
# with npm is installed already (another vendor's nodejs package ships its own
# npm, which Debian's npm package would conflict with).
if ! command -v npm >/dev/null 2>&1; then build_pkgs+=(nodejs npm); fi
runtime_pkgs=(redis-server redis-tools libnghttp2-14 curl ca-certificates)

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--runtime-only" ] && pkgs=("${runtime_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
