#!/usr/bin/env bash
# The container testnet in CI: five nodes, each in its own Podman container
# of the image docker/Dockerfile makes (from this build's binary, on a
# Debian base made with debootstrap when no registry answers), through the
# baseline and partition scenarios of `vouch-sim testnet`. Fails on a lost
# or late statement, or when a scenario overruns its time limit.
#
# Needs root (rootful Podman). Installs Podman and what it needs from
# Debian, and sets the container engine's runtime settings if none are
# set. Containers and their network are removed by the runner on exit,
# whatever happened.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

[ "$(id -u)" -eq 0 ] || fail "run as root (rootful Podman)"

install_missing podman:podman runc:runc debootstrap:debootstrap iptables:iptables \
    /usr/lib/podman/netavark:netavark /usr/lib/podman/aardvark-dns:aardvark-dns

# crun refuses a hybrid cgroup layout, and the default open-file limit is
# too low for a node's RocksDB: runc, netavark and higher limits, unless
# the machine has its own settings.
if [ ! -s /etc/containers/containers.conf ]; then
    say "writing /etc/containers/containers.conf"
    mkdir -p /etc/containers
    cat >/etc/containers/containers.conf <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
EOF
fi

vouch_binary
say "building the runner (vouch-sim)"
cargo build -q --locked -p vouch-sim

say "building the image from $VOUCH"
VOUCH_BINARY="$VOUCH" timeout 600 docker/image.sh vouch:testnet

say "baseline and partition, 5 containers"
timeout 600 "$CARGO_TARGET_DIR/debug/vouch-sim" testnet --engine podman --image vouch:testnet \
    --nodes 5 --reports 20 --scenario baseline,partition --vouch "$VOUCH"
say "passed"
