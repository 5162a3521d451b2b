#!/usr/bin/env bash
# A hostile peer against a real node, measured from outside: the `flood`
# example joins the node's gossip and publishes forged statements as fast
# as it can, redialling at once whenever it is thrown out, while wrk (a
# separate process) asks the node's HTTP API about senders. Prints lookup
# latency without and with the flood, what the flooder managed, and what
# the node did about it (bans, refusals before the handshake, rejected
# statements, and that none was stored).
#
# Loopback is not exempt from bans here (`p2p.exempt_loopback = false`),
# as a remote attacker would not be. Everything listens on 127.0.0.1 and is
# stopped on exit; the node and build stay outside the clone
# (VOUCH_BENCH_DIR, default /var/tmp/vouch-bench; CARGO_TARGET_DIR).
# Settings: VOUCH_FLOOD_SECONDS (per measurement, 10),
# VOUCH_BENCH_CONNECTIONS (wrk connections, 4: a mail server's few).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

SECONDS_EACH="${VOUCH_FLOOD_SECONDS:-10}"
CONNECTIONS="${VOUCH_BENCH_CONNECTIONS:-4}"
DIR="${VOUCH_BENCH_DIR:-/var/tmp/vouch-bench}"
API=127.0.0.1:17801
P2P_PORT=17802

if [ "$(id -u)" -eq 0 ]; then
    install_missing wrk:wrk
fi
command -v wrk >/dev/null || fail "wrk is missing (apt-get install wrk)"

say "building (release)"
cargo build --release --locked -q -p vouch-cli -p vouch-node --bin vouch --example flood
BIN="$CARGO_TARGET_DIR/release"
VOUCH="$BIN/vouch"

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

NODE="$DIR/flood-node"
rm -rf "$NODE"
mkdir -p "$DIR"
"$VOUCH" --data-dir "$NODE" init >/dev/null
cat >"$NODE/config.toml" <<CONF
[api]
listen = "$API"
[policy]
enabled = false
[dnsbl]
enabled = false
[p2p]
listen = ["/ip4/127.0.0.1/tcp/$P2P_PORT"]
exempt_loopback = false
CONF
RUST_LOG=warn "$VOUCH" --data-dir "$NODE" run >"$DIR/flood-node.log" 2>&1 &
PIDS+=("$!")
vouch() { "$VOUCH" --data-dir "$NODE" "$@"; }
wait_for "the node did not start (see $DIR/flood-node.log)" vouch status
vouch report 203.0.113.9 >/dev/null
PEER="$(vouch id --peer)"
TARGET="/ip4/127.0.0.1/tcp/$P2P_PORT/p2p/$PEER"
statements_before="$(curl -fsS "http://$API/v1/status" | python3 -c 'import json, sys; print(json.load(sys.stdin)["statements"])')"

# lookups LABEL: rate, p50, p99 of HTTP lookups (a reported sender and
# senders nobody reported, in turn), over SECONDS_EACH.
cat >"$DIR/flood-wrk.lua" <<'LUA'
local i = 0
request = function()
  i = i + 1
  if i % 2 == 0 then
    return wrk.format("GET", "/v1/reputation/203.0.113.9")
  end
  return wrk.format("GET", "/v1/reputation/198.51." .. (i % 256) .. "." .. (i % 251))
end
LUA
lookups() {
    wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$DIR/flood-wrk.lua" "http://$API" >"$DIR/flood-wrk-$1.txt"
    awk '/^Requests\/sec/ { rate = int($2) } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
         END { print rate, p50, p99 }' "$DIR/flood-wrk-$1.txt"
}

say "lookups, quiet"
read -r quiet_rate quiet_p50 quiet_p99 <<<"$(lookups quiet)"

say "lookups during the flood"
"$BIN/examples/flood" "$TARGET" $((SECONDS_EACH + 4)) >"$DIR/flood.txt" &
FLOOD_PID=$!
PIDS+=("$FLOOD_PID")
sleep 2
read -r flood_rate flood_p50 flood_p99 <<<"$(lookups flood)"
wait "$FLOOD_PID" || true

metric() { curl -fsS "http://$API/metrics" | awk -v name="$1" 'index($0, name) == 1 { sum += $NF } END { print sum + 0 }'; }
statements_after="$(curl -fsS "http://$API/v1/status" | python3 -c 'import json, sys; print(json.load(sys.stdin)["statements"])')"

echo
printf '| %-22s | %8s | %8s | %8s |\n' "HTTP lookups" "rate/s" "p50" "p99"
printf '|%s|%s|%s|%s|\n' "------------------------" "----------" "----------" "----------"
printf '| %-22s | %8s | %8s | %8s |\n' "quiet" "$quiet_rate" "$quiet_p50" "$quiet_p99"
printf '| %-22s | %8s | %8s | %8s |\n' "during the flood" "$flood_rate" "$flood_p50" "$flood_p99"
echo
cat "$DIR/flood.txt"
echo "node: $(metric vouch_peer_bans_total) bans, $(metric vouch_peer_refusals_total) connections refused before the handshake, $(metric vouch_rejected_total) statements rejected, $((statements_after - statements_before)) stored"
[ "$statements_after" -eq "$statements_before" ] || fail "forged statements were stored"
