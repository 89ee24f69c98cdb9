# container_env.bash: shared set-up of the container tests (sourced by
# container.sh and compose.sh; not a test itself). Podman as root, with the
# set-up ../shared/STACK_NOTES.md ("Containers") found to work here:
#  - runc (crun fails on hybrid cgroups) and ulimits within the hard limits,
#    through a containers.conf of our own (CONTAINERS_CONF);
#  - a Debian 12 base image: used as it is when the image the Dockerfile
#    names (debian:bookworm-slim) is already in podman's store; otherwise
#    made with debootstrap --variant=minbase from the Debian mirror apt uses
#    on this machine (no image registry is needed), the root file system
#    kept as a tarball in $CACHE between runs, and imported under that name;
#  - `podman build --format docker` (keeps HEALTHCHECK) with chroot
#    isolation and the host network (apt inside the build).
# The image is built from the working tree; podman's layer cache makes a
# second build with unchanged sources a matter of seconds.
# Skips (77) only when no container can run: not root, podman missing, or
# a trivial container failing to start. Runs in the release pass only: the
# image is built from the sources, not from the build tree's binaries.

REPO=${RECSYS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMPBASE=${RECSYS_TEST_TMP:-/tmp}
mkdir -p "$TMPBASE"
T=$(mktemp -d "$TMPBASE/container.XXXXXX")
CACHE=${RECSYS_CONTAINER_CACHE:-$REPO/build/container-cache}
# One tag per source tree: two checkouts testing at once do not retag each
# other's image (the layers are shared all the same).
IMAGE=${RECSYS_TEST_IMAGE:-localhost/recsys:suite-$(printf '%s' "$REPO" | md5sum | cut -c1-8)}
BASE_IMAGE=debian:bookworm-slim
SIZE_LIMIT=$((100 * 1000 * 1000)) # bytes the runtime layers may add to the base
PIDS=()
CLEANUP=()

fail() { echo "FAIL: $*" >&2; for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok - $*"; }
secs() { echo $(( $(date +%s) - T0 )); }
T0=$(date +%s)

cleanup() {
    local c
    for c in "${CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1; done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

case "${RECSYS_BUILD_TYPE:-Release}" in
Asan | Debug) skip "the image is built from the sources: tested once, in the release pass (this is $RECSYS_BUILD_TYPE)" ;;
esac
[ "$(id -u)" = 0 ] || skip "container tests run podman as root (rootless podman needs subuids set up); running as $(id -un)"
command -v podman >/dev/null || skip "podman not installed (deploy/install-deps.sh installs podman, buildah, runc, debootstrap)"
command -v curl >/dev/null || skip "curl not installed"

mkdir -p "$CACHE"
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
cat >"$CACHE/containers.conf" <<CONF
# written by tests/integration/container_env.bash
[containers]
default_ulimits = ["nofile=$hard:$hard", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$CACHE/containers.conf

# The Debian mirror apt uses on this machine (deb822 or one-line sources).
apt_mirror() {
    local m
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
    echo "$m"
}

ensure_base() {
    if podman image exists "$BASE_IMAGE"; then
        return
    fi
    local tarball=$CACHE/debian-bookworm-minbase.tar
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null || skip "no $BASE_IMAGE image and no debootstrap to make one (deploy/install-deps.sh)"
        local mirror
        mirror=$(apt_mirror)
        [ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list*"
        echo "making the base: debootstrap --variant=minbase bookworm ($(secs) s)"
        rm -rf "$CACHE/rootfs"
        debootstrap --variant=minbase bookworm "$CACHE/rootfs" "$mirror" >"$T/debootstrap.log" 2>&1 ||
            fail "debootstrap failed"
        rm -rf "$CACHE"/rootfs/var/cache/apt/archives/*.deb "$CACHE"/rootfs/var/cache/apt/*.bin \
            "$CACHE"/rootfs/var/lib/apt/lists/*
        tar -C "$CACHE/rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" || fail "tar of the base"
        rm -rf "$CACHE/rootfs"
    fi
    podman import "$tarball" "$BASE_IMAGE" >"$T/import.log" 2>&1 || fail "podman import of $tarball"
    echo "base $BASE_IMAGE imported from $tarball ($(secs) s)"
}

# A container must start at all, or the runtime is unusable here: skip.
ensure_runtime() {
    local out
    if ! out=$(podman run --rm --network none "$BASE_IMAGE" true 2>&1); then
        skip "a container cannot start on this machine (podman run $BASE_IMAGE true: $(echo "$out" | tail -n 3))"
    fi
}

# Builds $IMAGE from the working tree (deploy/Dockerfile). The image it
# replaces is removed, and build leftovers (intermediate images: the layer
# cache) older than a day, so that the store does not grow with each change.
ensure_image() {
    local t=$(date +%s) old new
    old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null)
    podman build --format docker --isolation chroot --network host --pull=never \
        --build-arg RECSYS_COMMIT="$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
        -f "$REPO/deploy/Dockerfile" -t "$IMAGE" "$REPO" >"$T/build.log" 2>&1 || fail "podman build failed"
    new=$(podman image inspect --format '{{.Id}}' "$IMAGE")
    [ -n "$old" ] && [ "$old" != "$new" ] && podman rmi "$old" >/dev/null 2>&1
    podman image prune -f --filter until=24h >/dev/null 2>&1
    echo "image $IMAGE built in $(( $(date +%s) - t )) s"
}

source "$(dirname "${BASH_SOURCE[0]}")/free_port.bash"

# wait_http URL CODE SECONDS
wait_http() {
    local i
    for i in $(seq $(($3 * 5))); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

ensure_base
ensure_runtime
