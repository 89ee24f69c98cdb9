#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine to a verdict:
#   1. installs the Debian packages the project needs (deploy/install-deps.sh),
#   2. builds the release configuration and runs every test in it (ctest),
#   3. builds with clang + ASan/UBSan + libFuzzer and runs every test again,
#      including each fuzz target for RECSYS_FUZZ_SECONDS (default 20).
# Tests that need ../shared/data skip with a message when it is absent.
#
# Usage: tests/run.sh [--quick] [--no-install] [-R REGEX]
#   --quick       release build only (no sanitizer/fuzz pass)
#   --no-install  do not call apt-get (packages already present)
#   -R REGEX      run only the ctest tests matching REGEX
# Environment: RECSYS_SHARED (default ../shared), RECSYS_FUZZ_SECONDS,
#              RECSYS_JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 install=1 regex=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    -R) regex=(-R "$2"); shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "tests/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

jobs=${RECSYS_JOBS:-$(nproc)}
fuzz_secs=${RECSYS_FUZZ_SECONDS:-20}
start=$(date +%s)

if [ $install = 1 ]; then
  deploy/install-deps.sh
fi
if [ ! -d ../shared/data ] && [ -z "${RECSYS_SHARED:-}" ]; then
  echo "tests/run.sh: ../shared/data is absent: tests that need it will be skipped"
fi

step() { echo; echo "==== $* ($(( $(date +%s) - start ))s)"; }

step "release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
step "release tests"
(cd build && ctest --output-on-failure -j"$jobs" "${regex[@]}")

if [ $quick = 0 ]; then
  step "ASan+UBSan build (clang, libFuzzer)"
  CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Asan -DRECSYS_FUZZ=ON \
    -DRECSYS_FUZZ_SECONDS="$fuzz_secs" >/dev/null
  cmake --build build-asan -j"$jobs"
  step "ASan+UBSan tests and fuzzers"
  (cd build-asan && ctest --output-on-failure -j"$jobs" "${regex[@]}")
fi
step "all tests passed"
