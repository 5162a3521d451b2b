#!/usr/bin/env bash
# End-to-end: a real, unmodified Postfix (Debian's package) consults a running
# `vouch` node through the policy socket and through the DNS zones (via a
# local unbound with stub zones), and swaks sends the mail.
#
# Everything listens on loopback; accepted mail goes to Postfix's discard
# transport, so nothing leaves the machine. The machine's own resolver is not
# touched: Postfix runs in a private mount namespace in which /etc/resolv.conf
# points at the test's unbound (127.0.0.153:53).
#
# Needs root (apt-get, port 53, unshare). Exits non-zero on the first failed
# expectation; every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

[ "$(id -u)" -eq 0 ] || fail "run as root (apt-get, port 53, mount namespace)"

# --- what it needs ------------------------------------------------------------
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
install_missing postfix:postfix swaks:swaks unbound:unbound dig:dnsutils unshare:util-linux
vouch_binary

# --- scratch space and cleanup ------------------------------------------------
WORK="$(mktemp -d /tmp/vouch-postfix.XXXXXX)"
chmod 755 "$WORK"
NODE_PID=""
PEER_PID=""
UNBOUND_PID=""
POSTFIX_STARTED=""
stop_node() {
    [ -n "$NODE_PID" ] && stop_processes "$NODE_PID"
    NODE_PID=""
}
cleanup() {
    status=$?
    set +e
    if [ "$status" -ne 0 ]; then
        echo "--- vouch log";   tail -n 30 "$WORK/vouch.log" 2>/dev/null
        echo "--- peer log";    tail -n 30 "$WORK/peer.log" 2>/dev/null
        echo "--- postfix log"; tail -n 30 "$WORK/maillog" 2>/dev/null
        echo "--- unbound log"; tail -n 30 "$WORK/unbound/unbound.log" 2>/dev/null
    fi
    [ -n "$POSTFIX_STARTED" ] && postfix -c "$WORK/postfix" stop >/dev/null 2>&1
    stop_node
    if [ -n "$PEER_PID" ]; then
        kill "$PEER_PID" 2>/dev/null
        wait "$PEER_PID" 2>/dev/null
    fi
    if [ -n "$UNBOUND_PID" ]; then
        kill "$UNBOUND_PID" 2>/dev/null
        wait "$UNBOUND_PID" 2>/dev/null
    fi
    # The Postfix master of this instance only (its pid file), if stop left it.
    if [ -f "$WORK/spool/pid/master.pid" ]; then
        pid="$(tr -dc 0-9 < "$WORK/spool/pid/master.pid")"
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback TCP port nobody listens on (bash's /dev/tcp connect fails).
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    fail "no free port"
}
API_PORT=$(free_port)
POLICY_PORT=$(free_port)
DNS_PORT=$(free_port)
SMTP_POLICY=$(free_port)
SMTP_DNS=$(free_port)
RESOLVER=127.0.0.153

# --- the vouch node -----------------------------------------------------------
DATA="$WORK/vouch"
"$VOUCH" --data-dir "$DATA" init >/dev/null
cat > "$DATA/config.toml" <<EOF
[api]
listen = "127.0.0.1:$API_PORT"

[policy]
listen = "127.0.0.1:$POLICY_PORT"
# Show the /24 effect: an unendorsed neighbour of reported hosts is deferred.
on_suspect = "defer_if_permit"

[dnsbl]
listen = "127.0.0.1:$DNS_PORT"
# Short TTLs so the resolver does not answer from cache after the node stops.
ttl_secs = 1
negative_ttl_secs = 1

[p2p]
# A lone node: any free port, so a node already on 7702 cannot clash.
listen = ["/ip4/127.0.0.1/tcp/0"]
EOF
start_node() {
    "$VOUCH" --data-dir "$DATA" run >>"$WORK/vouch.log" 2>&1 &
    NODE_PID=$!
    for _ in $(seq 100); do
        "$VOUCH" --data-dir "$DATA" status >/dev/null 2>&1 && return
        kill -0 "$NODE_PID" 2>/dev/null || fail "vouch run exited"
        sleep 0.1
    done
    fail "vouch did not start"
}
vouch() { "$VOUCH" --data-dir "$DATA" "$@"; }
say "starting vouch (API :$API_PORT, policy :$POLICY_PORT, DNS :$DNS_PORT)"
start_node

# --- a peer node on loopback whose operator this one trusts ------------------------
# One voice (even this node's own) makes a sender suspect; a block needs a
# second. The peer's reports travel to this node over the real network.
PEER_DATA="$WORK/peer"
PEER_P2P=$(free_port)
"$VOUCH" --data-dir "$PEER_DATA" init >/dev/null
cat > "$PEER_DATA/config.toml" <<EOF
[api]
listen = "127.0.0.1:$(free_port)"
[policy]
listen = "127.0.0.1:$(free_port)"
[dnsbl]
listen = "127.0.0.1:$(free_port)"
[p2p]
listen = ["/ip4/127.0.0.1/tcp/$PEER_P2P"]
EOF
"$VOUCH" --data-dir "$PEER_DATA" run >>"$WORK/peer.log" 2>&1 &
PEER_PID=$!
peer() { "$VOUCH" --data-dir "$PEER_DATA" "$@"; }
for _ in $(seq 100); do
    peer status >/dev/null 2>&1 && break
    kill -0 "$PEER_PID" 2>/dev/null || fail "the peer node exited"
    sleep 0.1
done
vouch trust add "/ip4/127.0.0.1/tcp/$PEER_P2P/p2p/$(peer id --peer)" >/dev/null

# Reports by both operators, an endorsement by this one.
for by in vouch peer; do
    $by report 203.0.113.9 --category phishing --count 12 >/dev/null
    $by report 203.0.113.10 >/dev/null
    for host in 1 2 3; do $by report "198.51.100.$host" >/dev/null; done
done
vouch endorse 198.51.100.25 --category operator >/dev/null
for _ in $(seq 300); do
    vouch query 203.0.113.10 | grep BLOCK >/dev/null && vouch query 198.51.100.3 | grep BLOCK >/dev/null && break
    kill -0 "$PEER_PID" 2>/dev/null || fail "the peer node exited"
    sleep 0.1
done
vouch query 198.51.100.3 | grep BLOCK >/dev/null || fail "the peer's reports did not arrive"
vouch query 203.0.113.9 --explain
vouch query 198.51.100.9
vouch query 198.51.100.25

# --- unbound: stub zones for the node's DNS port --------------------------------
mkdir -p "$WORK/unbound"
{
    unbound_server "$WORK" "$RESOLVER"
    cat <<EOF
    verbosity: 1
# docs/unbound/vouch.conf, pointed at this node's DNS port.
include: "$WORK/unbound/vouch.conf"
EOF
} >"$WORK/unbound/unbound.conf"
sed "s/@5300$/@$DNS_PORT/" docs/unbound/vouch.conf >"$WORK/unbound/vouch.conf"
grep -q "@$DNS_PORT" "$WORK/unbound/vouch.conf" || fail "docs/unbound/vouch.conf names no stub on port 5300"
say "starting unbound on $RESOLVER:53"
unbound -c "$WORK/unbound/unbound.conf" &
UNBOUND_PID=$!
for _ in $(seq 50); do
    answer="$(dig +short +time=1 +tries=1 @"$RESOLVER" 2.0.0.127.bl.vouch.local A 2>/dev/null || true)"
    [ "$answer" = "127.0.0.2" ] && break
    kill -0 "$UNBOUND_PID" 2>/dev/null || fail "unbound exited"
    sleep 0.2
done
[ "$answer" = "127.0.0.2" ] || fail "RFC 5782 test point not resolvable through unbound: '$answer'"
txt="$(dig +short @"$RESOLVER" 9.113.0.203.bl.vouch.local TXT)"
echo "TXT 9.113.0.203.bl.vouch.local: $txt"
case "$txt" in *"reported by 2 trusted operators"*) ;; *) fail "TXT reason missing";; esac

# --- a private Postfix instance ---------------------------------------------------
PF="$WORK/postfix"
mkdir -p "$PF" "$WORK/spool" "$WORK/data"
chown postfix "$WORK/data"
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$RESOLVER" > "$WORK/resolv.conf"
{
    postfix_main_cf "$WORK"
    cat <<EOF
# swaks presents other client addresses from loopback with XCLIENT.
smtpd_authorized_xclient_hosts = 127.0.0.0/8
# As in docs/mta.md (policy):
smtpd_recipient_restrictions =
    reject_unauth_destination,
    check_policy_service { inet:127.0.0.1:$POLICY_PORT, timeout=10s, default_action=DUNNO }
# As in docs/mta.md (DNS), used by the second listener:
vouch_dns_restrictions =
    reject_unauth_destination,
    permit_dnswl_client wl.vouch.local=127.0.0.[2..4],
    reject_rbl_client bl.vouch.local=127.0.0.[2..5]
EOF
} >"$PF/main.cf"
cat > "$PF/master.cf" <<EOF
127.0.0.1:$SMTP_POLICY inet n - n - - smtpd
127.0.0.1:$SMTP_DNS inet n - n - - smtpd -o smtpd_recipient_restrictions=\$vouch_dns_restrictions
EOF
cat tests/data/postfix-services.cf >>"$PF/master.cf"
say "starting Postfix $(postconf -d -h mail_version 2>/dev/null) (policy listener :$SMTP_POLICY, DNS listener :$SMTP_DNS)"
postfix -c "$PF" check || fail "postfix check (see $WORK/maillog)"
unshare --mount --propagation private sh -c \
    "mount --bind '$WORK/resolv.conf' /etc/resolv.conf && exec postfix -c '$PF' start" >/dev/null 2>&1 \
    || fail "postfix start"
POSTFIX_STARTED=1
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_DNS") 2>/dev/null && break
    sleep 0.1
done

# --- the expectations -------------------------------------------------------------
# send PORT CLIENT_IP: the SMTP transcript, whatever swaks' exit status.
send() {
    swaks --server 127.0.0.1 --port "$1" --xclient-addr "$2" \
        --from "sender@example.org" --to "user@example.test" \
        --timeout 30 --hide-informational 2>&1 || true
}
expect() { # NAME PORT CLIENT_IP PATTERN...
    local name="$1" port="$2" ip="$3"
    shift 3
    local out
    out="$(send "$port" "$ip")"
    for pattern in "$@"; do
        if ! grep -qF -- "$pattern" <<<"$out"; then
            echo "$out"
            fail "$name: expected '$pattern'"
        fi
    done
    echo "ok: $name"
    grep -E '^<\*\* |^<- +250 2\.0\.0' <<<"$out" | sed 's/^/      /' | head -n 2
}
ACCEPTED="250 2.0.0 Ok: queued"
passed=0

say "policy server (check_policy_service)"
expect "reported sender rejected with Vouch's reason" "$SMTP_POLICY" 203.0.113.9 \
    "554 5.7.1" "Vouch: client 203.0.113.9 reported by 2 trusted operators in the last 1h (phishing)" \
    "see vouch query 203.0.113.9 --explain"
passed=$((passed + 1))
expect "unknown sender accepted" "$SMTP_POLICY" 192.0.2.77 "$ACCEPTED"
passed=$((passed + 1))
expect "unendorsed neighbour in the reported /24 deferred" "$SMTP_POLICY" 198.51.100.9 \
    "450 4.7.1" "Vouch: client 198.51.100.9 has 3 reported neighbours in 198.51.100.0/24"
passed=$((passed + 1))
expect "endorsed sender in the reported /24 accepted" "$SMTP_POLICY" 198.51.100.25 "$ACCEPTED"
passed=$((passed + 1))
# Accepted mail was tagged: the node counted its PREPEND answers.
metrics="$(exec 3<>"/dev/tcp/127.0.0.1/$API_PORT" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3)"
grep -q 'vouch_policy_answers_total{action="prepend"} [1-9]' <<<"$metrics" \
    || fail "no PREPEND (X-Vouch header) answers counted"
echo "ok: accepted mail tagged with X-Vouch (PREPEND answers counted in /metrics)"
passed=$((passed + 1))

say "DNS zones (reject_rbl_client / permit_dnswl_client through unbound)"
expect "reported sender rejected by the block list with the TXT reason" "$SMTP_DNS" 203.0.113.9 \
    "554 5.7.1" "blocked using bl.vouch.local" "Vouch: 203.0.113.9 block: reported by 2 trusted operators"
passed=$((passed + 1))
expect "unknown sender accepted" "$SMTP_DNS" 192.0.2.77 "$ACCEPTED"
passed=$((passed + 1))
expect "endorsed sender in the reported /24 accepted (allow list)" "$SMTP_DNS" 198.51.100.25 "$ACCEPTED"
passed=$((passed + 1))

say "node stopped"
stop_node
expect "policy: reported sender accepted (default_action=DUNNO)" "$SMTP_POLICY" 203.0.113.9 "$ACCEPTED"
passed=$((passed + 1))
expect "DNS: reported sender accepted (zone unreachable = not listed)" "$SMTP_DNS" 203.0.113.10 "$ACCEPTED"
passed=$((passed + 1))

echo "postfix end-to-end: $passed passed, 0 failed"
