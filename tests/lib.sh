# Shared by the end-to-end scripts (sourced, not run): messages, installing
# what a fresh Debian lacks, and the `vouch` binary under test.

say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# install_missing COMMAND:PACKAGE...: apt-get installs the package of every
# command not on the PATH.
install_missing() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# vouch_binary: sets VOUCH to the binary under test. VOUCH_BIN=path skips
# the build (a binary you built yourself); otherwise it is the same build as
# `./dev test`, so CI reuses it (a `-p vouch-cli` build unifies features
# differently and compiles RocksDB a second time).
vouch_binary() {
    if [ -n "${VOUCH_BIN:-}" ]; then
        VOUCH="$VOUCH_BIN"
    else
        say "building vouch"
        cargo test -q --workspace --locked --no-run
        VOUCH="$CARGO_TARGET_DIR/debug/vouch"
    fi
    [ -x "$VOUCH" ] || fail "no vouch binary at $VOUCH"
}

# postfix_main_cf WORK: the main.cf lines every test Postfix instance
# shares (its spool, data and log under WORK; loopback only; every
# accepted message discarded). Tests append their own restrictions.
postfix_main_cf() {
    cat <<EOF
compatibility_level = 3.6
queue_directory = $1/spool
data_directory = $1/data
maillog_file_prefixes = $1
maillog_file = $1/maillog
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.vouch-test.invalid
mydomain = vouch-test.invalid
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
relay_domains = example.test
# Nothing leaves the machine: every accepted message is discarded.
relay_transport = discard:vouch end-to-end test
default_transport = discard:vouch end-to-end test
local_transport = discard:vouch end-to-end test
smtpd_relay_restrictions = reject_unauth_destination
EOF
}

# stop_processes PID...: asks each to stop, gives it 5 s, then kills it,
# and reaps those that are this shell's children.
stop_processes() {
    local pid
    for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# free_port: a TCP port free on 127.0.0.1 (bound and released: good enough
# for tests, which start their node right after).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for WHAT COMMAND...: runs COMMAND until it succeeds, at most 30 s;
# then fails with WHAT (after the script's show_logs, if it has one).
wait_for() {
    local what="$1"
    shift
    for _ in $(seq 300); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    if declare -F show_logs >/dev/null; then
        show_logs
    fi
    fail "$what"
}

# unbound_server WORK INTERFACE: the server: lines of a test unbound on
# INTERFACE:53, its files under WORK/unbound, not daemonized.
unbound_server() {
    cat <<EOF
server:
    interface: $2
    port: 53
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$1/unbound"
    pidfile: ""
    use-syslog: no
    logfile: "$1/unbound/unbound.log"
    access-control: 127.0.0.0/8 allow
EOF
}
