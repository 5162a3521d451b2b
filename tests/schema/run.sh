#!/usr/bin/env bash
# HTTP schema fuzzing: schemathesis (from PyPI, in a virtualenv outside the
# clone) against the OpenAPI document a running `vouch` node serves, every
# operation, with and without the API token. It fails on any server error
# (5xx), any answer that breaks the document (undocumented status, wrong
# content type, body or headers off-schema), any write that ignores the
# token, and any request the document forbids that is accepted.
#
# Not checked: that every request the document allows is accepted. A
# subject is an IP, a netblock, a domain or a node key, parsed by the node;
# the document says "string", and a 400 for "0" is by design.
#
# Everything listens on loopback; the node is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

SCHEMATHESIS_VERSION=4.32.5
VENV=/var/tmp/vouch-schemathesis

# --- what it needs ------------------------------------------------------------
install_missing python3:python3 curl:curl
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    say "installing python3-venv"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    say "installing schemathesis $SCHEMATHESIS_VERSION in $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
vouch_binary

# --- a node -------------------------------------------------------------------
WORK="$(mktemp -d /tmp/vouch-schema.XXXXXX)"
NODE_PID=""
cleanup() {
    status=$?
    set +e
    if [ "$status" -ne 0 ]; then
        echo "--- vouch log"; tail -n 30 "$WORK/vouch.log" 2>/dev/null
    fi
    if [ -n "$NODE_PID" ]; then
        kill "$NODE_PID" 2>/dev/null
        wait "$NODE_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

PORT="$(free_port)"
"$VOUCH" --data-dir "$WORK/node" init >/dev/null
cat >"$WORK/node/config.toml" <<CONF
[api]
listen = "127.0.0.1:$PORT"
[policy]
listen = "127.0.0.1:0"
[dnsbl]
listen = "127.0.0.1:0"
[p2p]
listen = ["/ip4/127.0.0.1/tcp/0"]
CONF
"$VOUCH" --data-dir "$WORK/node" run >"$WORK/vouch.log" 2>&1 &
NODE_PID=$!
BASE="http://127.0.0.1:$PORT"
wait_for "the node's API answers" curl -fsS "$BASE/v1/status"
# Something to read back.
"$VOUCH" --data-dir "$WORK/node" report 203.0.113.9 --category phishing >/dev/null
"$VOUCH" --data-dir "$WORK/node" endorse 198.51.100.25 >/dev/null
TOKEN="$(cat "$WORK/node/api.token")"

# --- schemathesis ---------------------------------------------------------------
# Run from the scratch directory: schemathesis and hypothesis keep their
# caches in the working directory.
run_schemathesis() {
    (cd "$WORK" && "$VENV/bin/schemathesis" run "$BASE/v1/openapi.json" \
        --checks all --exclude-checks positive_data_acceptance \
        --max-examples 100 --seed 1 --workers 1 --no-color "$@")
}
say "schemathesis with the token"
run_schemathesis -H "Authorization: Bearer $TOKEN" | tail -n 25
say "schemathesis without the token"
run_schemathesis | tail -n 25
kill -0 "$NODE_PID" || fail "the node died under schema fuzzing"
say "ok: schemathesis found no server error and no schema violation"
