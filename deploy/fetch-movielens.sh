#!/usr/bin/env bash
# deploy/fetch-movielens.sh: downloads a MovieLens release from GroupLens for
# users with internet access, checks it against the MD5 that GroupLens
# publishes beside each zip, and unpacks it, ready for
#   deploy/local.sh up --data DIR/<name>
# The datasets are not redistributable freely: their licence (research use,
# no endorsement, citation, no redistribution except under the same terms)
# is printed first and must be accepted (--accept-license, or a "yes" at the
# prompt). Never run by the tests (they have no network).
#
# Usage: deploy/fetch-movielens.sh [--accept-license] [NAME] [DEST]
#   NAME  ml-latest-small (default, 1 MB), ml-100k, ml-1m, ml-10m, ml-20m,
#         ml-25m, ml-32m, ml-latest (large)
#   DEST  directory to unpack into (default: build/data); the dataset lands
#         in DEST/<name> (ml-10m unpacks as ml-10M100K: renamed to ml-10m)
set -euo pipefail

BASE_URL=${MOVIELENS_BASE_URL:-https://files.grouplens.org/datasets/movielens}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
accept=0
args=()
for a in "$@"; do
    case "$a" in
        --accept-license) accept=1 ;;
        -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fetch-movielens: unknown option $a" >&2; exit 2 ;;
        *) args+=("$a") ;;
    esac
done
name=${args[0]:-ml-latest-small}
dest=${args[1]:-$REPO/build/data}
case "$name" in
    ml-latest-small | ml-100k | ml-1m | ml-10m | ml-20m | ml-25m | ml-32m | ml-latest) ;;
    *) echo "fetch-movielens: unknown dataset '$name' (see --help)" >&2; exit 2 ;;
esac
command -v curl >/dev/null || { echo "fetch-movielens: curl is not installed" >&2; exit 1; }

cat <<'EOF'
MovieLens datasets are published by GroupLens Research (University of
Minnesota) under these terms (short form; the full text is the README in the zip):
  * use for research purposes only; commercial use needs permission;
  * do not state or imply endorsement by the University of Minnesota or GroupLens;
  * acknowledge the dataset in publications: F. Maxwell Harper and Joseph A.
    Konstan. 2015. The MovieLens Datasets: History and Context. ACM TiiS 5(4): 19;
  * redistribute only under these same terms.
EOF
if [ $accept != 1 ]; then
    if [ -t 0 ]; then
        read -r -p "Accept these terms? [yes/no] " answer
        [ "$answer" = yes ] || { echo "not accepted: nothing downloaded"; exit 1; }
    else
        echo "fetch-movielens: pass --accept-license to accept the terms non-interactively" >&2
        exit 1
    fi
fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
zip=$tmp/$name.zip
echo "downloading $BASE_URL/$name.zip ..."
curl -fL --retry 3 --proto '=https' -o "$zip" "$BASE_URL/$name.zip"
if curl -fsSL --proto '=https' -o "$tmp/md5" "$BASE_URL/$name.zip.md5"; then
    want=$(grep -oE '[0-9a-f]{32}' "$tmp/md5" | head -n1)
    got=$(md5sum "$zip" | cut -d' ' -f1)
    [ "$want" = "$got" ] || { echo "fetch-movielens: MD5 mismatch ($got, GroupLens says $want)" >&2; exit 1; }
    echo "MD5 ok ($got)"
else
    echo "warning: no $name.zip.md5 published: not verified" >&2
fi
if command -v unzip >/dev/null; then
    unzip -q "$zip" -d "$tmp/x"
else
    python3 -m zipfile -e "$zip" "$tmp/x"
fi
src=$(find "$tmp/x" -mindepth 1 -maxdepth 1 -type d | head -n1)
[ -n "$src" ] || { echo "fetch-movielens: the zip holds no directory" >&2; exit 1; }
rm -rf "${dest:?}/$name"
mv "$src" "$dest/$name"
echo "unpacked into $dest/$name"
echo "serve it:  deploy/local.sh up --data '$dest/$name'"
