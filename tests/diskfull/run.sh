#!/usr/bin/env bash
# A full disk: a real `vouch` node whose data directory sits on a small
# tmpfs (in a private mount namespace) that the test fills to the last
# byte. Writes then fail with a clear error, and the front-ends keep
# answering in time without a rejection they did not have before; once
# space is freed and the node restarted, every acknowledged write is
# there and writes work again.
#
# Needs root (unshare, mount). Everything listens on loopback; the node is
# stopped and the tmpfs unmounted (with its namespace) on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

[ "$(id -u)" -eq 0 ] || fail "run as root (unshare, mount)"

# Re-run inside a private mount namespace, where the tmpfs lives and dies.
if [ -z "${VOUCH_DISKFULL_NS:-}" ]; then
    install_missing unshare:util-linux dig:dnsutils curl:curl python3:python3
    vouch_binary
    VOUCH_DISKFULL_NS=1 VOUCH_BIN="$VOUCH" exec unshare --mount --propagation private "$0" "$@"
fi
VOUCH="$VOUCH_BIN"

WORK="$(mktemp -d /tmp/vouch-diskfull.XXXXXX)"
DISK="$WORK/disk"
NODE_PID=""
stop_node() {
    [ -n "$NODE_PID" ] && stop_processes "$NODE_PID"
    NODE_PID=""
}
show_logs() { echo "--- vouch log"; tail -n 30 "$WORK/vouch.log" 2>/dev/null || true; }
cleanup() {
    status=$?
    set +e
    [ "$status" -ne 0 ] && show_logs
    stop_node
    umount "$DISK" 2>/dev/null
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

mkdir -p "$DISK"
# Room for the node's files and RocksDB's first memtable flushes, no more.
mount -t tmpfs -o size=48m tmpfs "$DISK"

API="$(free_port)"; POLICY="$(free_port)"; DNS="$(free_port)"
NODE="$DISK/node"
"$VOUCH" --data-dir "$NODE" init >/dev/null
cat >"$NODE/config.toml" <<CONF
[api]
listen = "127.0.0.1:$API"
[policy]
listen = "127.0.0.1:$POLICY"
[dnsbl]
listen = "127.0.0.1:$DNS"
[p2p]
enabled = false
CONF
start_node() {
    "$VOUCH" --data-dir "$NODE" run >>"$WORK/vouch.log" 2>&1 &
    NODE_PID=$!
    wait_for "the node's API answers" curl -fsS "http://127.0.0.1:$API/v1/status"
}

# policy CLIENT: the policy server's action for a client address, within 5 s.
policy() {
    exec 3<>"/dev/tcp/127.0.0.1/$POLICY"
    printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n\n' "$1" >&3
    local line=""
    read -r -t 5 line <&3 || true
    exec 3>&-
    printf '%s\n' "$line"
}
# dns NAME: the A answer (or the status when there is none), within 2 s.
dns() {
    dig +time=2 +tries=1 -p "$DNS" @127.0.0.1 "$1" A | awk '
        /status:/ { sub(",", "", $6); status = $6 }
        /^[^;].*\tA\t/ { print $NF; found = 1 }
        END { if (!found) print status }'
}

# answers: the policy server's answers for a reported, an endorsed and an
# unknown sender, and the DNS answer for the reported one.
answers() {
    reported="$(policy 203.0.113.9)"
    endorsed="$(policy 198.51.100.25)"
    unknown="$(policy 192.0.2.77)"
    answer="$(dns 9.113.0.203.bl.vouch.local)"
    echo "policy: $reported | $endorsed | $unknown; dns: $answer"
}

start_node
say "before: the node's own reports and endorsement answer as usual"
"$VOUCH" --data-dir "$NODE" report 203.0.113.9 --category spam >/dev/null
"$VOUCH" --data-dir "$NODE" endorse 198.51.100.25 >/dev/null
answers
before_reported="$reported"
case "$before_reported" in action=*) ;; *) fail "no policy answer before the disk filled" ;; esac

say "the disk fills up"
# Acknowledged writes made just before it fills (each one synced).
acked=()
for i in $(seq 1 20); do
    subject="198.51.100.$((100 + i))"
    if "$VOUCH" --data-dir "$NODE" report "$subject" >/dev/null 2>&1; then
        acked+=("$subject")
    fi
done
dd if=/dev/zero of="$DISK/filler" bs=1M status=none 2>/dev/null || true
df -h "$DISK" | tail -n 1

say "writes then fail with a clear error, and the node stays up"
# RocksDB's log has space set aside: writes go on until that is used up.
# Keep writing (over one keep-alive connection) until one is refused.
refusal="$(python3 - "$API" "$(cat "$NODE/api.token")" <<'PY'
import http.client, json, sys
port, token = int(sys.argv[1]), sys.argv[2]
api = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for i in range(200_000):
    body = json.dumps({"subject": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"})
    api.request("POST", "/v1/report", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = api.getresponse()
    text = response.read().decode()
    if response.status != 200:
        print(f"after {i} writes: {response.status} {text}")
        break
else:
    print("never refused")
PY
)"
echo "$refusal"
case "$refusal" in "after "*" 500 "*) ;; *) fail "writes were not refused on a full disk: $refusal" ;; esac
echo "$refusal" | grep -qiE "space|store" || fail "the refusal does not say what went wrong: $refusal"
if out="$("$VOUCH" --data-dir "$NODE" report 192.0.2.200 2>&1)"; then
    fail "a write through the CLI succeeded on a full disk: $out"
fi
echo "the CLI says: $out"
kill -0 "$NODE_PID" || fail "the node died on a full disk"
# The API's acknowledged writes: 10.0.0.0 up to the one before the refusal.
n="$(echo "$refusal" | awk '{ print $2 }')"
if [ "$n" -gt 0 ]; then
    last=$((n - 1))
    acked+=("10.0.0.0" "10.$((last >> 16 & 255)).$((last >> 8 & 255)).$((last & 255))")
fi

say "the front-ends keep answering in time, never a new rejection"
for i in 1 2 3; do
    answers
    case "$reported" in action=*) ;; *) fail "no policy answer on a full disk" ;; esac
    case "$endorsed$unknown" in *action=REJECT*|*action=5*) fail "a rejection on a full disk: $endorsed / $unknown" ;; esac
    [ "$reported" = "$before_reported" ] || [ "$reported" = "action=DUNNO" ] \
        || fail "the reported sender's answer changed to $reported on a full disk"
    [ -n "$answer" ] || fail "no DNS answer in time on a full disk"
done

say "space freed, node restarted: every acknowledged write is there, and writes work"
rm -f "$DISK/filler"
stop_node
start_node
for subject in "${acked[@]}" 203.0.113.9; do
    count="$(curl -fsS "http://127.0.0.1:$API/v1/statements/$subject" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')"
    [ "$count" -ge 1 ] || fail "the acknowledged report on $subject is gone"
done
"$VOUCH" --data-dir "$NODE" report 192.0.2.201 >/dev/null || fail "writes do not work again after space was freed"
say "ok: a full disk refused writes clearly, the front-ends kept answering, none of ${#acked[@]} acknowledged writes checked was lost"
