#!/usr/bin/env bash
# deploy/CONFIGURATION.md is exactly what tools/gen-config-doc.sh writes from
# the binaries' option tables: a renamed option or a changed default must be
# regenerated (tools/gen-config-doc.sh build/bin > deploy/CONFIGURATION.md).
set -euo pipefail
src=${RECSYS_SOURCE_DIR:?} bin=${RECSYS_BIN_DIR:?}
want=$(mktemp)
trap 'rm -f "$want"' EXIT
"$src/tools/gen-config-doc.sh" "$bin" >"$want"
if ! diff -u "$src/deploy/CONFIGURATION.md" "$want" >/dev/null; then
  diff -u "$src/deploy/CONFIGURATION.md" "$want" | head -40
  echo "FAIL: deploy/CONFIGURATION.md is stale: run tools/gen-config-doc.sh build/bin > deploy/CONFIGURATION.md"
  exit 1
fi
echo "ok: deploy/CONFIGURATION.md matches the binaries ($(grep -c '^| `--' "$want") options)"
