#!/usr/bin/env bash
# Runs one libFuzzer target briefly: run_fuzzer.sh BINARY WORKDIR SEEDDIR SECONDS
# New inputs go to WORKDIR (in the build tree); SEEDDIR (committed) is only read.
# A crash, leak or sanitizer report fails the test; the reproducer is left in WORKDIR.
set -euo pipefail
bin=$1 work=$2 seeds=$3 secs=$4
mkdir -p "$work"
args=("$work")
[ -d "$seeds" ] && args+=("$seeds")
dict="${seeds%/}.dict"
[ -f "$dict" ] && set -- "-dict=$dict" || set --
exec "$bin" "$@" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/" -print_final_stats=1 "${args[@]}"
