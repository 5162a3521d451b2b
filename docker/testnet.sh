#!/usr/bin/env bash
# Drives the 5-node Docker Compose testnet in docker/compose.yml: the
# container twin of the loopback runner
# (`cargo run -p vouch-sim --release -- testnet --nodes 5`).
#
#   docker/testnet.sh [COMMAND ...]     (from any directory)
#
# Commands run in the order given; with none: up trust demo.
#
#   up     build vouch:testnet, start node1..node5 (node1 bootstraps the
#          rest), wait until every node answers `vouch status` with a peer
#   trust  every node vouches for its ring neighbours: node i for i-1 and i+1
#   demo   node1 reports 203.0.113.9 for phishing; polls node5 until its
#          `vouch query --explain` lists the report, and prints how long it took
#   peers  `vouch peers` on every node
#   down   stop the testnet and delete its volumes
#
#   scenario NAMES [NODES]
#          network behaviour, measured: NAMES is baseline, netem, partition,
#          churn, late-joiner, sybil (comma-separated) or all, on NODES containers (default 5).
#          Builds the image (docker/image.sh) and the runner (vouch-sim),
#          which starts its own containers with Podman or Docker, prints a
#          table and writes docker/results/testnet.{csv,svg}. Needs root.
#
# TESTNET_TIMEOUT (seconds, default 120) bounds the wait in `up`.
# Written for bash 3.2 too (macOS's /bin/bash).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nodes=(node1 node2 node3 node4 node5)
subject=203.0.113.9
ready_timeout="${TESTNET_TIMEOUT:-120}"
demo_timeout=15

usage() {
    echo "usage: $(basename "$0") [up|trust|demo|peers|down ...]   (default: up trust demo)"
    echo "       $(basename "$0") scenario NAMES [NODES]"
}

die() {
    echo "testnet: $*" >&2
    exit 1
}

# An absolute compose file path, so the script works from any directory.
compose() {
    docker compose -f "$here/compose.yml" "$@"
}

# vouch_on NODE ARGS...: runs `vouch ARGS...` in NODE's container (as the
# image's user, with VOUCH_DATA_DIR=/data). -T: no TTY, so output is
# clean to capture.
vouch_on() {
    local node="$1"
    shift
    compose exec -T "$node" vouch "$@"
}

# Milliseconds since the epoch; whole seconds only where bash has no
# EPOCHREALTIME (before 5.0).
now_ms() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        local us="${EPOCHREALTIME/[.,]/}"
        echo $((us / 1000))
    else
        echo $(($(date +%s) * 1000))
    fi
}

fmt_ms() {
    printf '%d.%03d s' $(($1 / 1000)) $(($1 % 1000))
}

# peers_connected NODE: prints the node's connected peer count; prints
# nothing (and fails) while the node does not answer.
peers_connected() {
    vouch_on "$1" status 2>/dev/null | awk '$1 == "peers_connected" { print $2 }'
}

# query_node NODE: node's `vouch query --explain` for the demo subject
# (errors included, never failing, so it can be polled).
query_node() {
    vouch_on "$1" query "$subject" --explain 2>&1 || true
}

# lists_report OUTPUT: whether a query's explanation lists a report. A whole
# word: the summary line always reads "reported <mass>", while explanation
# rows carry the statement kind, "report", in a column of their own.
lists_report() {
    grep -qw report <<<"$1"
}

cmd_up() {
    echo "== up: building vouch:testnet and starting ${nodes[*]}"
    # Returns once node1 is healthy and node2..node5 are started
    # (compose.yml: they wait for node1, their bootstrap node).
    compose up -d --build

    echo "== waiting until every node answers and has a peer (at most ${ready_timeout}s)"
    local deadline=$(($(date +%s) + ready_timeout))
    local pending="${nodes[*]}" still node count
    while [ -n "$pending" ]; do
        still=""
        for node in $pending; do
            count="$(peers_connected "$node" || true)"
            case "$count" in
                "" | *[!0-9]* | 0) still="$still $node" ;;
                *) echo "$node: up, $count peer(s) connected" ;;
            esac
        done
        pending="${still# }"
        [ -n "$pending" ] || break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "not ready after ${ready_timeout}s: $pending" >&2
            compose ps >&2 || true
            # shellcheck disable=SC2086 # one word per node
            compose logs --tail 20 $pending >&2 || true
            die "the testnet did not come up (TESTNET_TIMEOUT=$ready_timeout)"
        fi
        sleep 1
    done
}

cmd_trust() {
    echo "== trust: each node vouches for its ring neighbours"
    local node id i j n=${#nodes[@]}
    local peer_ids=()
    for node in "${nodes[@]}"; do
        id="$(vouch_on "$node" id --peer | tr -d '[:space:]')" ||
            die "$node: cannot read its peer id (is the testnet up?)"
        [ -n "$id" ] || die "$node: empty peer id"
        echo "$node  $id"
        peer_ids+=("$id")
    done
    for ((i = 0; i < n; i++)); do
        for j in $(( (i + n - 1) % n )) $(( (i + 1) % n )); do
            printf '%s vouches for %s: ' "${nodes[i]}" "${nodes[j]}"
            vouch_on "${nodes[i]}" trust add "${peer_ids[j]}"
        done
    done
}

cmd_demo() {
    echo "== demo: node1 reports $subject; waiting for the report on node5"
    # node5 vouches for node1 directly (ring neighbours), so node1's report
    # counts on node5 as soon as gossip delivers it.
    if lists_report "$(query_node node5)"; then
        echo "note: node5 already lists a report for $subject (the demo ran before?);" \
            "the time below means little. For a fresh network: down, then up trust demo." >&2
    fi
    printf 'node1: '
    vouch_on node1 report "$subject" --category phishing

    # Elapsed time from the report's acceptance on node1 to the first poll
    # that shows it on node5; each poll costs a `docker compose exec`
    # (typically 0.1-0.3 s), which bounds the resolution.
    local start elapsed output
    start="$(now_ms)"
    while :; do
        output="$(query_node node5)"
        elapsed=$(($(now_ms) - start))
        if lists_report "$output"; then
            echo "node5 lists the report after $(fmt_ms "$elapsed"):"
            printf '%s\n' "$output"
            return 0
        fi
        if [ "$elapsed" -ge $((demo_timeout * 1000)) ]; then
            printf '%s\n' "$output" >&2
            die "node5 did not list the report within ${demo_timeout}s (did 'trust' run? see '$(basename "$0") peers')"
        fi
        sleep 0.2
    done
}

cmd_peers() {
    local node
    for node in "${nodes[@]}"; do
        echo "== $node"
        vouch_on "$node" peers
    done
}

cmd_down() {
    echo "== down: stopping the testnet and deleting its volumes"
    compose down -v
}

# scenario NAMES [NODES]: see the top of this file.
cmd_scenario() {
    local names="${1:?scenario needs names: baseline, netem, partition, churn, late-joiner, sybil or all}"
    local count="${2:-5}" engine
    if command -v podman >/dev/null 2>&1; then
        engine=podman
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        engine=docker
    else
        die "needs Podman or a running Docker"
    fi
    local root target
    root="$(dirname "$here")"
    target="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"
    "$here/image.sh" vouch:testnet
    (cd "$root" && CARGO_TARGET_DIR="$target" cargo build --release --locked -q -p vouch-sim -p vouch-cli)
    "$target/release/vouch-sim" testnet --engine "$engine" --image vouch:testnet \
        --nodes "$count" --scenario "$names" --vouch "$target/release/vouch" \
        --out "$here/results"
}

main() {
    if [ "${1:-}" = scenario ]; then
        shift
        cmd_scenario "$@"
        return
    fi
    [ $# -gt 0 ] || set -- up trust demo
    local cmd
    for cmd in "$@"; do
        case "$cmd" in
            up | trust | demo | peers | down) ;;
            -h | --help | help)
                usage
                exit 0
                ;;
            *)
                usage >&2
                exit 2
                ;;
        esac
    done
    docker compose version >/dev/null 2>&1 || die "needs Docker with the Compose plugin (docker compose)"
    for cmd in "$@"; do
        "cmd_$cmd"
    done
}

main "$@"
