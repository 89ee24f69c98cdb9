#!/usr/bin/env bash
# check-layers.sh: fails when the include lines break the layering of the tree.
#
#   common/ is a stack, lowest first: base text math data wire net. A file in
#   common/<layer>/ includes "common/<layer'>/..." only for a layer' at or
#   below its own, and never a header of services/ or tools/.
#   common/ holds no source file at its top.
#   A service (services/<name>/) includes no other service's headers.
#
# Usage: tools/check-layers.sh [ROOT]     check the tree at ROOT (default: repo)
#        tools/check-layers.sh --self-test  prove the check fails on a bad tree
# Prints one line per violation (file:line: what) and exits 1 when any.
set -euo pipefail

LAYERS=(base text math data wire net)

rank_of() {
    local i
    for i in "${!LAYERS[@]}"; do
        if [ "${LAYERS[$i]}" = "$1" ]; then
            echo "$i"
            return
        fi
    done
    echo -1
}

check() {
    local root=$1 bad=0 f line inc layer rank target trank svc other
    cd "$root"
    for f in common/*.c common/*.h; do
        [ -e "$f" ] || continue
        echo "$f: source file at the top of common/ (put it in a layer folder)"
        bad=1
    done
    while IFS= read -r f; do
        layer=${f#common/}
        layer=${layer%%/*}
        rank=$(rank_of "$layer")
        if [ "$rank" -lt 0 ]; then
            echo "$f: common/$layer/ is not a layer (known: ${LAYERS[*]})"
            bad=1
            continue
        fi
        while IFS=: read -r line inc; do
            inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/' <<<"$inc")
            case "$inc" in
            common/*/*)
                target=${inc#common/}
                target=${target%%/*}
                trank=$(rank_of "$target")
                if [ "$trank" -lt 0 ]; then
                    echo "$f:$line: includes $inc from unknown layer '$target'"
                    bad=1
                elif [ "$trank" -gt "$rank" ]; then
                    echo "$f:$line: $layer includes $inc from the higher layer $target"
                    bad=1
                fi
                ;;
            common/*)
                echo "$f:$line: includes $inc (headers live in common/<layer>/)"
                bad=1
                ;;
            services/* | tools/*)
                echo "$f:$line: common/ includes $inc (common/ never depends on services or tools)"
                bad=1
                ;;
            esac
        done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f" || true)
    done < <(find common -mindepth 2 -type f \( -name '*.c' -o -name '*.h' \) | sort)
    while IFS= read -r f; do
        svc=${f#services/}
        svc=${svc%%/*}
        while IFS=: read -r line inc; do
            inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/' <<<"$inc")
            case "$inc" in
            services/*/*)
                other=${inc#services/}
                other=${other%%/*}
                if [ "$other" != "$svc" ]; then
                    echo "$f:$line: service $svc includes $inc of service $other"
                    bad=1
                fi
                ;;
            esac
        done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f" || true)
    done < <(find services -mindepth 2 -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
    return $bad
}

self_test() {
    local tmp rc=0
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp/common/base" "$tmp/common/net" "$tmp/services/a" "$tmp/services/b"
    printf '#include "common/base/err.h"\n' >"$tmp/common/net/ok.c"
    printf '#include <stdio.h>\n' >"$tmp/common/base/err.h"
    (check "$tmp" >/dev/null) || { echo "self-test: a good tree was refused"; rc=1; }
    # Each bad case alone must be caught.
    local cases=(
        'common/base/up.c|#include "common/net/rpc.h"'
        'common/base/svc.c|#include "services/a/x.h"'
        'common/top.c|int x;'
        'common/base/flat.c|#include "common/err.h"'
        'common/misc/x.c|int x;'
        'services/a/y.c|#include "services/b/z.h"'
        'common/base/sp.c|  #  include "common/net/rpc.h"'
    )
    local c path body
    for c in "${cases[@]}"; do
        path=${c%%|*}
        body=${c#*|}
        mkdir -p "$(dirname "$tmp/$path")"
        printf '%s\n' "$body" >"$tmp/$path"
        if (check "$tmp" >/dev/null); then
            echo "self-test: not caught: $path: $body"
            rc=1
        fi
        rm -f "$tmp/$path"
    done
    [ $rc = 0 ] && echo "check-layers self-test: ${#cases[@]} bad trees refused, the good one passed"
    return $rc
}

if [ "${1:-}" = "--self-test" ]; then
    self_test
    exit
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if check "$root"; then
    echo "check-layers: common/ is a stack (${LAYERS[*]}), no service includes another"
else
    exit 1
fi
