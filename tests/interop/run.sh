#!/usr/bin/env bash
# Interoperability: a stock js-libp2p client (libp2p 3, from npm, in a
# directory outside the clone) meets a running `vouch` node as any
# implementation that is not Vouch's would: noise, yamux, identify, ping,
# gossipsub on the statements topic (it receives a statement the node
# makes) and the back-fill protocol (its CBOR page holds that statement).
#
# Everything listens on loopback; the node and the client are stopped on
# exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

JS=/var/tmp/vouch-interop
PACKAGES=(libp2p@3.3.11 @chainsafe/libp2p-noise@17.0.0 @chainsafe/libp2p-yamux@8.0.1
    @libp2p/tcp@11.0.28 @libp2p/identify@4.1.14 @libp2p/ping@3.1.13 @libp2p/gossipsub@17.1.1
    @multiformats/multiaddr@13.0.3 cborg@6.1.5)

# --- what it needs ------------------------------------------------------------
install_missing node:nodejs npm:npm curl:curl python3:python3
if [ ! -f "$JS/.installed" ] || [ "$(cat "$JS/.installed")" != "${PACKAGES[*]}" ]; then
    say "installing js-libp2p in $JS"
    rm -rf "$JS"
    mkdir -p "$JS"
    echo '{"name": "vouch-interop", "private": true, "type": "module"}' >"$JS/package.json"
    (cd "$JS" && npm install --no-audit --no-fund --loglevel=error "${PACKAGES[@]}")
    echo "${PACKAGES[*]}" >"$JS/.installed"
fi
cp tests/interop/client.mjs tests/interop/polyfill.mjs "$JS/"
vouch_binary

# --- a node -------------------------------------------------------------------
WORK="$(mktemp -d /tmp/vouch-interop.XXXXXX)"
PIDS=()
cleanup() {
    status=$?
    set +e
    if [ "$status" -ne 0 ]; then
        echo "--- vouch log"; tail -n 30 "$WORK/vouch.log"
        echo "--- client"; cat "$WORK/client.out"
    fi
    stop_processes "${PIDS[@]}"
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

API="$(free_port)"; P2P="$(free_port)"
NODE="$WORK/node"
"$VOUCH" --data-dir "$NODE" init >/dev/null
cat >"$NODE/config.toml" <<CONF
[api]
listen = "127.0.0.1:$API"
[policy]
enabled = false
[dnsbl]
enabled = false
[p2p]
listen = ["/ip4/127.0.0.1/tcp/$P2P"]
CONF
"$VOUCH" --data-dir "$NODE" run >"$WORK/vouch.log" 2>&1 &
PIDS+=("$!")
wait_for "the node's API answers" curl -fsS "http://127.0.0.1:$API/v1/status"
TARGET="/ip4/127.0.0.1/tcp/$P2P/p2p/$("$VOUCH" --data-dir "$NODE" id --peer)"

# --- the client ---------------------------------------------------------------------
say "js-libp2p $(cd "$JS" && node -p "require('./node_modules/libp2p/package.json').version") against $TARGET"
(cd "$JS" && exec timeout 90 node --import ./polyfill.mjs client.mjs "$TARGET") >"$WORK/client.out" 2>&1 &
CLIENT=$!
PIDS+=("$CLIENT")
wait_for "the client joined the statements topic" grep -q READY "$WORK/client.out"
"$VOUCH" --data-dir "$NODE" report 203.0.113.9 >/dev/null
wait "$CLIENT" || fail "the client failed: $(grep FAIL "$WORK/client.out")"
grep '^ok' "$WORK/client.out"
say "ok: a stock js-libp2p client spoke every protocol with the node"
