#!/usr/bin/env bash
# Builds the node's image, vouch:testnet, with Docker or Podman (whichever
# is installed), with or without a reachable registry:
#
#   docker/image.sh [TAG]          (default tag: vouch:testnet)
#
# * The binary is built here (`cargo build --release -p vouch-cli`, in
#   CARGO_TARGET_DIR, outside the clone), stripped, and copied into the
#   image (the Dockerfile's BINARY=prebuilt): no Rust image is pulled, and
#   the build cache stays on the host.
# * The base is debian:bookworm-slim from a registry when one answers;
#   otherwise localhost/debian:bookworm-slim, made once from Debian's
#   packages with debootstrap (about a minute; needs root).
#
# VOUCH_BASE_IMAGE names a base to use as it is; VOUCH_BINARY a `vouch`
# binary to put in the image instead of building one (CI passes its own
# build). The debootstrap tarball is kept in /var/tmp/vouch-docker, so a
# machine makes it once. Needs root for Podman and for debootstrap.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
tag="${1:-vouch:testnet}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"
LOCAL_BASE=localhost/debian:bookworm-slim

die() { echo "image: $*" >&2; exit 1; }
say() { echo "== image: $*"; }

if command -v podman >/dev/null 2>&1; then
    engine=podman
    # Podman drops HEALTHCHECK from OCI images; the Docker format keeps it.
    build_flags=(--format docker)
    # Outside systemd, Podman cannot run healthcheck timers: skip them here.
    run_flags=(--health-cmd none)
elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
    build_flags=()
    run_flags=()
else
    die "needs Podman or a running Docker"
fi

# --- the base -----------------------------------------------------------------
base="${VOUCH_BASE_IMAGE:-}"
if [ -z "$base" ]; then
    if "$engine" image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
        base="$LOCAL_BASE"
    elif timeout 60 "$engine" pull -q debian:bookworm-slim >/dev/null 2>&1; then
        base=debian:bookworm-slim
    else
        tarball=/var/tmp/vouch-docker/debian-bookworm-minbase.tar
        if [ ! -s "$tarball" ]; then
            say "no registry answers: making $LOCAL_BASE from Debian's packages"
            command -v debootstrap >/dev/null 2>&1 || die "needs debootstrap (apt-get install debootstrap)"
            mirror="$(awk '/^URIs:/ { print $2; exit } /^deb / { print $2; exit }' \
                /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)"
            rootfs="$(mktemp -d /var/tmp/vouch-rootfs.XXXXXX)"
            debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >/dev/null
            mkdir -p "$(dirname "$tarball")"
            tar -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
            rm -rf "$rootfs"
        fi
        "$engine" import - "$LOCAL_BASE" < "$tarball" >/dev/null
        base="$LOCAL_BASE"
    fi
fi

# --- the binary -----------------------------------------------------------------
binary="${VOUCH_BINARY:-}"
if [ -z "$binary" ]; then
    say "building vouch (release)"
    (cd "$root" && cargo build --release --locked -q -p vouch-cli --bin vouch)
    binary="$CARGO_TARGET_DIR/release/vouch"
fi
[ -x "$binary" ] || die "no executable $binary"
mkdir -p "$here/.prebuilt"
strip -o "$here/.prebuilt/vouch" "$binary"

# --- the image ------------------------------------------------------------------
say "building $tag with $engine on $base"
"$engine" build "${build_flags[@]}" -f "$here/Dockerfile" \
    --build-arg BINARY=prebuilt --build-arg BASE_IMAGE="$base" \
    -t "$tag" "$root" >/dev/null
rm -f "$here/.prebuilt/vouch"
"$engine" run --rm "${run_flags[@]}" "$tag" --version
