#!/usr/bin/env bash
# End-to-end: the DNS-list recipes in docs/mta.md, run as shipped against
# real programs from Debian's packages: postscreen (docs/postfix), rspamd
# (docs/rspamd/local.d) and SpamAssassin (docs/spamassassin), through
# unbound (docs/unbound), asking a real node about a blocked, an endorsed
# and an unknown sender. The block is made by two trusted voices over the
# real network (a peer node on loopback). Then the node stops, and all
# three must still accept mail; then it starts again, and all three must
# consult it again (the time each takes is printed).
#
# Everything runs in a network namespace of its own with only loopback up
# (the senders' addresses are added to it, so postscreen sees real client
# addresses), and in a mount namespace whose /etc/resolv.conf points at the
# test's unbound: nothing any program tries can leave the machine.
#
# Needs root (apt-get, unshare). Exits non-zero on the first failed
# expectation; every process it starts is stopped on exit, and the scratch
# directory removed (VOUCH_KEEP=1 keeps it, to read the programs' logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

[ "$(id -u)" -eq 0 ] || fail "run as root (apt-get, unshare)"

if [ "${VOUCH_FILTERS_INSIDE:-}" != 1 ]; then
    # --- what it needs (before leaving the network) ---------------------------
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    install_missing postfix:postfix swaks:swaks unbound:unbound dig:dnsutils \
        rspamd:rspamd spamassassin:spamassassin python3:python3 ip:iproute2 unshare:util-linux
    vouch_binary
    say "entering network and mount namespaces of our own (loopback only)"
    VOUCH_FILTERS_INSIDE=1 VOUCH_BIN="$VOUCH" exec unshare --net --mount -- "$0"
fi

VOUCH="$VOUCH_BIN"
BLOCKED=203.0.113.9
ENDORSED=198.51.100.25
UNKNOWN=192.0.2.77
ip link set lo up
for address in "$BLOCKED" "$ENDORSED" "$UNKNOWN"; do
    ip addr add "$address/32" dev lo
done

# --- scratch space and cleanup ------------------------------------------------
WORK="$(mktemp -d /tmp/vouch-filters.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
NODE_PID=""
POSTFIX_STARTED=""
cleanup() {
    status=$?
    set +e
    if [ "$status" -ne 0 ]; then
        for log in "$WORK"/node.log "$WORK"/peer.log "$WORK"/maillog \
            "$WORK"/unbound/unbound.log "$WORK"/rspamd/log/rspamd.log; do
            [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }
        done
    fi
    [ -n "$POSTFIX_STARTED" ] && postfix -c "$WORK/postfix" stop >/dev/null 2>&1
    stop_processes $NODE_PID "${PIDS[@]}"
    if [ -f "$WORK/spool/pid/master.pid" ]; then
        pid="$(tr -dc 0-9 <"$WORK/spool/pid/master.pid")"
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    fi
    [ -n "${VOUCH_KEEP:-}" ] || rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- two nodes: this one on the recipes' default ports, and a trusted peer -----
NODE="$WORK/node"
"$VOUCH" --data-dir "$NODE" init >/dev/null
cat >"$NODE/config.toml" <<EOF
[api]
listen = "127.0.0.1:7701"
[policy]
listen = "127.0.0.1:10040"
[dnsbl]
listen = "127.0.0.1:5300"
# Short TTLs, so resolvers stop answering from cache soon after the node stops.
ttl_secs = 1
negative_ttl_secs = 1
[p2p]
listen = ["/ip4/127.0.0.1/tcp/0"]
EOF
vouch() { "$VOUCH" --data-dir "$NODE" "$@"; }
start_node() {
    "$VOUCH" --data-dir "$NODE" run >>"$WORK/node.log" 2>&1 &
    NODE_PID=$!
    wait_for "the node did not start" vouch status
}
stop_node() {
    kill "$NODE_PID"
    for _ in $(seq 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$NODE_PID" 2>/dev/null && fail "the node did not stop"
    NODE_PID=""
}
say "starting two vouch nodes"
start_node
PEER="$WORK/peer"
"$VOUCH" --data-dir "$PEER" init >/dev/null
cat >"$PEER/config.toml" <<EOF
[api]
listen = "127.0.0.1:7711"
[policy]
enabled = false
[dnsbl]
enabled = false
[p2p]
listen = ["/ip4/127.0.0.1/tcp/7712"]
EOF
"$VOUCH" --data-dir "$PEER" run >"$WORK/peer.log" 2>&1 &
PIDS+=($!)
peer() { "$VOUCH" --data-dir "$PEER" "$@"; }
wait_for "the peer node did not start" peer status
vouch trust add "/ip4/127.0.0.1/tcp/7712/p2p/$(peer id --peer)" >/dev/null
# One voice (this node's own) makes a sender suspect; the peer's report,
# arriving over the network, makes it a block.
vouch report "$BLOCKED" >/dev/null
peer report "$BLOCKED" >/dev/null
vouch endorse "$ENDORSED" >/dev/null
wait_for "the peer's report did not arrive" sh -c "'$VOUCH' --data-dir '$NODE' query $BLOCKED | grep -q BLOCK"
say "  $(vouch query "$BLOCKED" | head -n 1)"
say "  $(vouch query "$ENDORSED" | head -n 1)"
say "  $(vouch query "$UNKNOWN" | head -n 1)"

# --- unbound: docs/unbound/vouch.conf, and a stand-in for Spamhaus ---------------
# The endorsed sender is also "listed" in zen.spamhaus.org (a local zone), to
# show what an endorsement outweighs.
say "unbound: docs/unbound/vouch.conf"
mkdir -p "$WORK/unbound"
{
    unbound_server "$WORK" 127.0.0.1
    cat <<EOF
    local-zone: "zen.spamhaus.org." static
    local-data: "$(echo "$ENDORSED" | awk -F. '{print $4"."$3"."$2"."$1}').zen.spamhaus.org. A 127.0.0.2"
include: "$PWD/docs/unbound/vouch.conf"
EOF
} >"$WORK/unbound/unbound.conf"
unbound -c "$WORK/unbound/unbound.conf" &
PIDS+=($!)
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"$WORK/resolv.conf"
mount --bind "$WORK/resolv.conf" /etc/resolv.conf
reversed() { echo "$1" | awk -F. '{print $4"."$3"."$2"."$1}'; }
listed() { # ZONE IP: the A record the zone answers for IP, through unbound
    dig +short +time=1 +tries=1 @127.0.0.1 "$(reversed "$2").$1" A 2>/dev/null || true
}
wait_for "unbound does not reach the node's zones" test "$(listed bl.vouch.local "$BLOCKED")" = 127.0.0.2
[ "$(listed wl.vouch.local "$ENDORSED")" = 127.0.0.2 ] || fail "the endorsed sender is not in the allow list"
[ -z "$(listed bl.vouch.local "$UNKNOWN")" ] || fail "the unknown sender is listed"

# --- postscreen: docs/postfix/postscreen-main.cf and postscreen-master.cf -----------
say "postscreen: docs/postfix"
PF="$WORK/postfix"
mkdir -p "$PF" "$WORK/spool" "$WORK/data"
chown postfix "$WORK/data"
{
    postfix_main_cf "$WORK"
    cat docs/postfix/postscreen-main.cf
} >"$PF/main.cf"
{
    cat docs/postfix/postscreen-master.cf tests/data/postfix-services.cf
} >"$PF/master.cf"
postfix -c "$PF" check || fail "postfix check"
postfix -c "$PF" start >/dev/null 2>&1 || fail "postfix start"
POSTFIX_STARTED=1
wait_for "postscreen did not listen on port 25" python3 -c "
import socket; socket.create_connection(('127.0.0.1', 25), 1).close()"

# smtp CLIENT_IP: the SMTP transcript of a message from CLIENT_IP.
smtp() {
    swaks --server 127.0.0.1 --port 25 --local-interface "$1" \
        --from sender@example.org --to user@example.test \
        --timeout 30 --hide-informational 2>&1 || true
}
ACCEPTED="250 2.0.0 Ok: queued"
expect_smtp() { # NAME CLIENT_IP PATTERN
    local out
    out="$(smtp "$2")"
    grep -qF -- "$3" <<<"$out" || { echo "$out"; fail "postscreen, $1: expected '$3'"; }
    echo "ok: postscreen, $1"
}
expect_smtp "blocked sender rejected" "$BLOCKED" "blocked using bl.vouch.local"
# Allowlisted (-5 + 3 <= -2), it skips the greeting test: no 6 s wait for
# the banner, and no DNSBL rank logged.
began=$(date +%s)
expect_smtp "endorsed sender (also on Spamhaus) accepted at once" "$ENDORSED" "$ACCEPTED"
[ $(($(date +%s) - began)) -lt 4 ] || fail "postscreen made the endorsed sender wait for the greeting test"
grep -q "PASS NEW \[$ENDORSED\]" "$WORK/maillog" || fail "postscreen did not pass the endorsed sender"
grep -q "DNSBL rank .* for \[$ENDORSED\]" "$WORK/maillog" &&
    fail "postscreen ranked the endorsed sender as listed"
expect_smtp "unknown sender accepted" "$UNKNOWN" "$ACCEPTED"

# --- rspamd: docs/rspamd/local.d -----------------------------------------------------
say "rspamd: docs/rspamd/local.d"
RSPAMD="$WORK/rspamd"
mkdir -p "$RSPAMD/local.d" "$RSPAMD/run" "$RSPAMD/db" "$RSPAMD/log"
cp docs/rspamd/local.d/* "$RSPAMD/local.d/"
chown -R _rspamd:_rspamd "$RSPAMD"
rspamd_vars=(--var="LOCAL_CONFDIR=$RSPAMD" --var="RUNDIR=$RSPAMD/run"
    --var="DBDIR=$RSPAMD/db" --var="LOGDIR=$RSPAMD/log")
rspamadm "${rspamd_vars[@]}" configtest -c /etc/rspamd/rspamd.conf >"$WORK/rspamd-configtest.log" 2>&1 ||
    { cat "$WORK/rspamd-configtest.log"; fail "rspamadm configtest rejects docs/rspamd/local.d"; }
rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf "${rspamd_vars[@]}" &
PIDS+=($!)
wait_for "rspamd did not answer on 127.0.0.1:11333" python3 -c "
import urllib.request; urllib.request.urlopen('http://127.0.0.1:11333/ping', timeout=1)"
# Dated now: filters score a message dated a day back (rspamd's DATE_IN_PAST).
NOW="$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S +0000')"
message() { # CLIENT_IP: a message as the MX received it from CLIENT_IP
    cat <<EOF
Received: from client.example (client.example [$1])
	by mx.example.test (Postfix) with ESMTP id 4ZqTEST1
	for <user@example.test>; $NOW (UTC)
From: sender@example.org
To: user@example.test
Subject: Hello
Date: $NOW
Message-ID: <hello-$1@example.org>

Hello.
EOF
}
symbols() { # CLIENT_IP
    message "$1" | timeout 30 rspamc -h 127.0.0.1:11333 --ip "$1" symbols 2>&1 || true
}
expect_rspamd() { # NAME CLIENT_IP SYMBOL|!SYMBOL (a symbol name, or the start of one)
    local out
    out="$(symbols "$2")"
    case "$3" in
    !*) grep -q "Symbol: ${3#!}[A-Z_]* (" <<<"$out" && { echo "$out"; fail "rspamd, $1: ${3#!} hit"; } ;;
    *) grep -q "Symbol: $3[A-Z_]* (" <<<"$out" || { echo "$out"; fail "rspamd, $1: no $3"; } ;;
    esac
    echo "ok: rspamd, $1 ($3)"
}
expect_rspamd "blocked sender" "$BLOCKED" VOUCH_BLOCK_SPAM
expect_rspamd "endorsed sender" "$ENDORSED" VOUCH_ALLOW
expect_rspamd "endorsed sender, still scored by Spamhaus" "$ENDORSED" RBL_SPAMHAUS
expect_rspamd "unknown sender" "$UNKNOWN" '!VOUCH_'

# --- SpamAssassin: docs/spamassassin/vouch.cf -------------------------------------------
say "SpamAssassin: docs/spamassassin/vouch.cf"
SA="$WORK/spamassassin"
mkdir -p "$SA"
cp /etc/spamassassin/*.pre "$SA/"
cp docs/spamassassin/vouch.cf "$SA/"
lint="$(spamassassin --siteconfigpath="$SA" --lint 2>&1)" || { echo "$lint"; fail "spamassassin --lint fails"; }
[ -z "$lint" ] || { echo "$lint"; fail "spamassassin --lint warns"; }
echo "ok: SpamAssassin lints docs/spamassassin/vouch.cf clean"
rules() { # CLIENT_IP
    message "$1" | timeout 60 spamassassin --siteconfigpath="$SA" -t 2>/dev/null || true
}
expect_sa() { # NAME CLIENT_IP RULE|!RULE
    local out
    out="$(rules "$2")"
    case "$3" in
    !*) grep -q "${3#!}" <<<"$out" && { echo "$out"; fail "SpamAssassin, $1: ${3#!} hit"; } ;;
    *) grep -q "$3" <<<"$out" || { echo "$out"; fail "SpamAssassin, $1: no $3"; } ;;
    esac
    echo "ok: SpamAssassin, $1 ($3)"
}
expect_sa "blocked sender" "$BLOCKED" RCVD_IN_VOUCH_BL
expect_sa "endorsed sender" "$ENDORSED" RCVD_IN_VOUCH_WL
expect_sa "unknown sender" "$UNKNOWN" '!RCVD_IN_VOUCH'

# --- the node stopped: all three still accept mail ------------------------------------
say "node stopped"
stop_node
sleep 2 # the listings' 1 s TTL runs out in unbound's cache
expect_smtp "node stopped: blocked sender accepted" "$BLOCKED" "$ACCEPTED"
expect_rspamd "node stopped: blocked sender" "$BLOCKED" '!VOUCH_BLOCK_SPAM'
expect_sa "node stopped: blocked sender" "$BLOCKED" '!RCVD_IN_VOUCH_BL'

# --- started again: each consults it again --------------------------------------------
say "node started again"
started=$(date +%s)
start_node
for _ in $(seq 120); do
    [ "$(listed bl.vouch.local "$BLOCKED")" = 127.0.0.2 ] && break
    sleep 0.5
done
[ "$(listed bl.vouch.local "$BLOCKED")" = 127.0.0.2 ] || fail "unbound did not ask the node again within 60 s"
echo "ok: unbound answers from the node again after $(($(date +%s) - started)) s"
for _ in $(seq 60); do
    symbols "$BLOCKED" | grep -q "Symbol: VOUCH_BLOCK_SPAM (" && break
    sleep 1
done
symbols "$BLOCKED" | grep -q "Symbol: VOUCH_BLOCK_SPAM (" || fail "rspamd did not ask the node again within 60 s"
echo "ok: rspamd scores VOUCH_BLOCK_SPAM again after $(($(date +%s) - started)) s"

# --- the recipes in docs/mta.md are these files ---------------------------------------
python3 - <<'EOF' || fail "docs/mta.md does not show the tested recipe files verbatim"
import pathlib, sys
doc = pathlib.Path('docs/mta.md').read_text()
files = [f for d in ('postfix', 'rspamd/local.d', 'spamassassin', 'unbound')
         for f in sorted(pathlib.Path('docs', d).iterdir()) if f.is_file()]
missing = [str(f) for f in files if f.read_text() not in doc]
if missing:
    print('not in docs/mta.md:', *missing, file=sys.stderr)
    sys.exit(1)
EOF

echo "filters end-to-end passed"
