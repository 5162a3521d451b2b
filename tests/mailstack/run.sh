#!/usr/bin/env bash
# End-to-end: evidence flows in from the real mail programs (Debian's
# packages), through the recipes in docs/dovecot and docs/rspamd:
#
# * Dovecot + Pigeonhole IMAPSieve: moving a message into Junk over real
#   IMAP reports the host that sent it; moving it out again withdraws it.
# * rspamd: a message rspamd rejects (sent with rspamc) is reported by the
#   rule in docs/rspamd/rspamd.local.lua; one it passes is not.
#
# The recipe files are used as shipped; only /etc/dovecot and /etc/rspamd
# are rewritten to the test's directory. Everything runs in a
# network namespace of its own with only loopback up, so nothing the
# programs try (DNS lists, map downloads) can leave the machine.
#
# Needs root (apt-get, unshare). Exits non-zero on the first failed
# expectation; every process it starts is stopped on exit, and the scratch
# directory removed (VOUCH_KEEP=1 keeps it, to read the programs' logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

[ "$(id -u)" -eq 0 ] || fail "run as root (apt-get, unshare)"

if [ "${VOUCH_MAILSTACK_INSIDE:-}" != 1 ]; then
    # --- what it needs (before leaving the network) ---------------------------
    install_missing dovecot:dovecot-imapd sievec:dovecot-sieve rspamd:rspamd curl:curl \
        python3:python3 ip:iproute2 unshare:util-linux
    vouch_binary
    say "entering a network namespace of our own (loopback only)"
    VOUCH_MAILSTACK_INSIDE=1 VOUCH_BIN="$VOUCH" exec unshare --net -- "$0"
fi

VOUCH="$VOUCH_BIN"
ip link set lo up

# --- scratch space and cleanup ------------------------------------------------
WORK="$(mktemp -d /tmp/vouch-mailstack.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
cleanup() {
    stop_processes "${PIDS[@]}"
    [ -n "${VOUCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
show_logs() {
    for log in "$WORK"/node.log "$WORK"/dovecot/dovecot.log "$WORK"/rspamd/log/rspamd.log; do
        [ -f "$log" ] && { echo "--- $log"; tail -n 40 "$log"; }
    done
}

# --- the node -------------------------------------------------------------------
say "starting vouch (API on 127.0.0.1:7701, the recipes' default)"
NODE="$WORK/node"
"$VOUCH" --data-dir "$NODE" init >/dev/null
cat >"$NODE/config.toml" <<EOF
[api]
listen = "127.0.0.1:7701"

[policy]
listen = "127.0.0.1:0"

[dnsbl]
listen = "127.0.0.1:0"

[p2p]
enabled = false
EOF
"$VOUCH" --data-dir "$NODE" run >"$WORK/node.log" 2>&1 &
PIDS+=($!)
wait_for "the node did not answer" "$VOUCH" --data-dir "$NODE" status
vouch() { "$VOUCH" --data-dir "$NODE" "$@"; }

# The JSON field $2 of `vouch query $1 --json`, via python (no jq needed).
field() {
    vouch query "$1" --json | python3 -c "
import json, sys
r = json.load(sys.stdin)
items = r.get('explanation') or [{}]
print({'reported': r['reported'], 'source': items[0].get('source', '')}['$2'])"
}

# --- Dovecot + IMAPSieve ------------------------------------------------------------
say "dovecot: the recipe from docs/dovecot"
ETC="$WORK/etc/dovecot"
mkdir -p "$ETC/conf.d" "$ETC/sieve" "$ETC/sieve-pipe" "$WORK/dovecot" "$WORK/mail" "$WORK/home"
for file in docs/dovecot/*; do
    case "$file" in
    *.conf) dest="$ETC/conf.d/$(basename "$file")" ;;
    *.sieve) dest="$ETC/sieve/$(basename "$file")" ;;
    *) dest="$ETC/sieve-pipe/$(basename "$file")" ;;
    esac
    sed "s#/etc/dovecot/#$ETC/#g" "$file" >"$dest"
done
chmod 755 "$ETC/sieve-pipe/vouch-report"
# The mail user reads a copy of the token (docs/mta.md says the same).
install -m 0640 -o root -g nogroup "$NODE/api.token" "$ETC/vouch.token"
chown nobody:nogroup "$WORK/mail" "$WORK/home"
printf 'alice:{PLAIN}wonderland\n' >"$WORK/dovecot/users"
cat >"$WORK/dovecot/dovecot.conf" <<EOF
protocols = imap
listen = 127.0.0.1
base_dir = $WORK/dovecot/run
state_dir = $WORK/dovecot/state
log_path = $WORK/dovecot/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:$WORK/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $WORK/dovecot/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$WORK/home/%u
}
namespace inbox {
  inbox = yes
  mailbox Junk {
    auto = create
    special_use = \\Junk
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 143
  }
  inet_listener imaps {
    port = 0
  }
}
!include $ETC/conf.d/90-vouch-imapsieve.conf
EOF
for script in "$ETC"/sieve/*.sieve; do
    sievec -c "$WORK/dovecot/dovecot.conf" "$script"
done
dovecot -F -c "$WORK/dovecot/dovecot.conf" &
PIDS+=($!)
wait_for "dovecot did not listen on 127.0.0.1:143" python3 -c "
import socket; socket.create_connection(('127.0.0.1', 143), 1).close()"

# Drives real IMAP: APPEND to INBOX, then MOVE between mailboxes.
imap() {
    python3 - "$@" <<'EOF'
import imaplib, sys
action, arg = sys.argv[1], sys.argv[2]
imap = imaplib.IMAP4('127.0.0.1', 143)
imap.login('alice', 'wonderland')
if action == 'append':
    with open(arg, 'rb') as f:
        typ, _ = imap.append('INBOX', None, None, f.read())
    assert typ == 'OK', typ
else:
    source, target = arg.split(':')
    typ, _ = imap.select(source)
    assert typ == 'OK', typ
    typ, data = imap.uid('SEARCH', None, 'ALL')
    uids = data[0].split()
    assert uids, f'{source} is empty'
    typ, data = imap.uid('MOVE', uids[-1], target)
    assert typ == 'OK', (typ, data)
imap.logout()
EOF
}

ORIGIN=45.142.120.10
say "IMAP: a message moved into Junk is reported"
imap append tests/data/messages/plain.eml
[ "$(field "$ORIGIN" reported)" = "0.0" ] || fail "reported before it was moved"
imap move INBOX:Junk
wait_for "moving the message into Junk did not report $ORIGIN" \
    test "$(field "$ORIGIN" source)" = junk
say "  $(vouch query "$ORIGIN" | head -n 1)"

say "IMAP: moved out of Junk, the report is withdrawn"
imap move Junk:INBOX
wait_for "moving the message out of Junk did not withdraw the report" \
    test "$(field "$ORIGIN" reported)" = "0.0"
say "  $(vouch query "$ORIGIN" | head -n 1)"

# --- rspamd -------------------------------------------------------------------------
say "rspamd: the rule from docs/rspamd"
RSPAMD="$WORK/rspamd"
mkdir -p "$RSPAMD/local.d" "$RSPAMD/run" "$RSPAMD/db" "$RSPAMD/log"
sed "s#/etc/rspamd/#$RSPAMD/#g" docs/rspamd/rspamd.local.lua >"$RSPAMD/rspamd.local.lua"
install -m 0640 -o root -g _rspamd "$NODE/api.token" "$RSPAMD/vouch.token"
# No resolver in this namespace: DNS lookups fail at once instead of waiting.
printf 'dns {\n  nameserver = ["127.0.0.1:53"];\n  timeout = 0.5s;\n  retransmits = 1;\n}\n' \
    >"$RSPAMD/local.d/options.inc"
# The test's stand-in for a DNS list hit: the spam source's address scores
# as spam. (Not GTUBE: rspamd skips every rule for its test patterns.)
SPAM_ORIGIN=45.142.120.20
echo "$SPAM_ORIGIN" >"$RSPAMD/test-spam-sources.map"
cat >"$RSPAMD/local.d/multimap.conf" <<EOF
TEST_SPAM_SOURCE {
  type = "ip";
  map = "$RSPAMD/test-spam-sources.map";
  score = 20.0;
  description = "A spam source (test)";
}
EOF
chown -R _rspamd:_rspamd "$RSPAMD"
rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf \
    --var="LOCAL_CONFDIR=$RSPAMD" --var="RUNDIR=$RSPAMD/run" \
    --var="DBDIR=$RSPAMD/db" --var="LOGDIR=$RSPAMD/log" &
PIDS+=($!)
wait_for "rspamd did not answer on 127.0.0.1:11333" curl -fsS http://127.0.0.1:11333/ping

# Dated now: filters score a message dated a day back (rspamd's DATE_IN_PAST).
NOW="$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S +0000')"
cat >"$WORK/spam.eml" <<EOF
Received: from bulk.spamsource.example (bulk.spamsource.example [$SPAM_ORIGIN])
	by mx.example.net (Postfix) with ESMTP id 4ZqSPAM1
	for <alice@example.net>; $NOW (UTC)
From: offers@spamsource.example
To: alice@example.net
Subject: Offer
Date: $NOW
Message-ID: <offer@spamsource.example>

Buy now.
EOF
say "rspamc: a message from the spam source $SPAM_ORIGIN"
verdict="$(rspamc -h 127.0.0.1:11333 --ip "$SPAM_ORIGIN" "$WORK/spam.eml")"
grep -q "Action: reject" <<<"$verdict" || { echo "$verdict"; fail "rspamd did not reject it"; }
wait_for "rspamd's rule did not report $SPAM_ORIGIN" \
    test "$(field "$SPAM_ORIGIN" source)" = rspamd
say "  $(vouch query "$SPAM_ORIGIN" | head -n 1)"

say "rspamc: the same message from another address passes and is not reported"
HAM_ORIGIN=45.142.120.21
sed "s/$SPAM_ORIGIN/$HAM_ORIGIN/" "$WORK/spam.eml" >"$WORK/ham.eml"
verdict="$(rspamc -h 127.0.0.1:11333 --ip "$HAM_ORIGIN" "$WORK/ham.eml")"
grep -q "Action: no action" <<<"$verdict" || { echo "$verdict"; fail "rspamd did not pass it"; }
sleep 1
[ "$(field "$HAM_ORIGIN" reported)" = "0.0" ] || fail "a message rspamd passed was reported"

# --- the recipes in docs/mta.md are these files --------------------------------------
python3 - <<'EOF' || fail "docs/mta.md does not show the tested recipe files verbatim"
import pathlib, sys
doc = pathlib.Path('docs/mta.md').read_text()
files = [f for d in ('docs/dovecot', 'docs/rspamd') for f in sorted(pathlib.Path(d).iterdir())
         if f.is_file()]
missing = [str(f) for f in files if f.read_text() not in doc]
if missing:
    print('not in docs/mta.md:', *missing, file=sys.stderr)
    sys.exit(1)
EOF

echo "mail stack end-to-end passed"
