#!/usr/bin/env bash
# The hot path measured from outside the node, side by side with rbldnsd,
# in one run:
#
#   1. fills a fresh node with N statements (default 1,000,000) through
#      `vouch import` (timed), from a file `bench_fill` writes;
#   2. drives its HTTP API with wrk, its DNS zone with dnsperf, and its
#      policy server and HTTP API again with `lookup_load` (a separate
#      process, one thread per connection, so its latencies hold no wait
#      for the load generator's own event loop): about
#      listed addresses at random, about 1,000 listed addresses over and
#      over (a sender writing to many recipients), and about addresses
#      nobody listed;
#   3. restarts the node (timing its start on 1M statements, and its RSS);
#   4. runs rbldnsd on the same listed addresses (an ip4set, with the
#      zone's SOA as the node answers) and drives it with the same dnsperf
#      queries;
#   5. prints one table: rate, p50 and p99 per front-end, the node's RSS,
#      and each rate against rbldnsd's.
#
# Everything listens on 127.0.0.1 and is stopped on exit. The data, the
# node and the build stay outside the clone (VOUCH_BENCH_DIR, default
# /var/tmp/vouch-bench; CARGO_TARGET_DIR, default /var/tmp/vouch-target).
# Settings: VOUCH_BENCH_STATEMENTS, VOUCH_BENCH_SECONDS (per load, 10),
# VOUCH_BENCH_CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"

. tests/lib.sh

N="${VOUCH_BENCH_STATEMENTS:-1000000}"
SECONDS_EACH="${VOUCH_BENCH_SECONDS:-10}"
CONNECTIONS="${VOUCH_BENCH_CONNECTIONS:-32}"
DIR="${VOUCH_BENCH_DIR:-/var/tmp/vouch-bench}"
API=127.0.0.1:17701
POLICY=127.0.0.1:17740
DNS_PORT=17753
RBLDNSD_PORT=17754

if [ "$(id -u)" -eq 0 ]; then
    install_missing wrk:wrk dnsperf:dnsperf rbldnsd:rbldnsd dig:bind9-dnsutils
fi
for tool in wrk dnsperf rbldnsd dig; do
    command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install wrk dnsperf rbldnsd bind9-dnsutils)"
done

say "building (release)"
cargo build --release --locked -q -p vouch-cli -p vouch-node --bin vouch --examples
BIN="$CARGO_TARGET_DIR/release"
VOUCH="$BIN/vouch"

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# --- the data -------------------------------------------------------------------
mkdir -p "$DIR"
DATA="$DIR/data-$N"
# The reports block their senders while they are fresh (four trusted
# operators within the hour): data older than half an hour is written again.
if [ ! -s "$DATA/hubs" ] || [ -n "$(find "$DATA/statements.vouch" -mmin +30 2>/dev/null)" ]; then
    say "writing $N statements to $DATA"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    "$BIN/examples/bench_fill" "$DATA" "$N" >"$DATA/hubs.tmp"
    mv "$DATA/hubs.tmp" "$DATA/hubs"
fi
LISTED=$(wc -l <"$DATA/listed.txt")
# The same questions for every DNS server: listed addresses (every fifth),
# and as many nobody listed (the same octets in 45.0.0.0/8).
if [ ! -s "$DATA/queries-repeated.txt" ]; then
    awk -F. 'NR % 5 == 0 { print $4"."$3"."$2"."$1".bl.vouch.local A" }' \
        "$DATA/listed.txt" >"$DATA/queries-listed.txt"
    awk -F. 'NR % 5 == 0 { print $4"."$3"."$2".45.bl.vouch.local A" }' \
        "$DATA/listed.txt" >"$DATA/queries-unknown.txt"
    awk -F. 'NR <= 1000 { print $4"."$3"."$2"."$1".bl.vouch.local A" }' \
        "$DATA/listed.txt" >"$DATA/queries-repeated.txt"
fi

# --- a fresh node, filled from outside ------------------------------------------------
NODE="$DIR/node"
rm -rf "$NODE"
"$VOUCH" --data-dir "$NODE" init >/dev/null
cat >"$NODE/config.toml" <<EOF
[api]
listen = "$API"
[policy]
listen = "$POLICY"
on_neutral = "dunno"
[dnsbl]
listen = "127.0.0.1:$DNS_PORT"
[p2p]
enabled = false
EOF
# At its default log level, as operators run it.
env -u RUST_LOG "$VOUCH" --data-dir "$NODE" run >"$DIR/node.log" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")
vouch() { "$VOUCH" --data-dir "$NODE" "$@"; }
wait_for "the node did not start (see $DIR/node.log)" vouch status
while read -r hub; do vouch trust add "$hub" >/dev/null; done <"$DATA/hubs"
say "importing $N statements"
started=$(date +%s.%N)
vouch import "$DATA/statements.vouch" >"$DIR/import.txt"
import_secs=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
stored=$(awk '$1 == "stored" { print $2 }' "$DIR/import.txt")
[ "$stored" -gt 0 ] || { cat "$DIR/import.txt"; fail "nothing was imported"; }
# RocksDB compacts what was just written: measure once the node is idle
# (under a fifth of a core for two seconds; at most two minutes).
ticks() { awk '{ print $14 + $15 }' "/proc/$NODE_PID/stat"; }
hz=$(getconf CLK_TCK)
for _ in $(seq 60); do
    before=$(ticks)
    sleep 2
    [ $(( ($(ticks) - before) * 100 / (2 * hz) )) -lt 20 ] && break
done
# The node must block what rbldnsd lists, or the two answer different questions.
node_lists() {
    [ "$(dig +short +time=1 +tries=1 -p "$DNS_PORT" @127.0.0.1 "$1" A)" = 127.0.0.2 ]
}
node_lists 1.0.0.44.bl.vouch.local || fail "the node does not block the first listed address"

# --- the loads -----------------------------------------------------------------------
# wrk_load KIND FIRST_OCTET SENDERS: rate, p50, p99 of HTTP lookups of
# the first SENDERS addresses FIRST.x.y.z (44: listed, 45: nobody listed).
wrk_load() {
    cat >"$DIR/wrk-$1.lua" <<EOF
local n = $3
request = function()
  local i = math.random(0, n - 1) + 1
  local a, b, c = math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256
  return wrk.format("GET", "/v1/reputation/$2." .. a .. "." .. b .. "." .. c)
end
EOF
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$DIR/wrk-$1.lua" "http://$API" >"$DIR/wrk-$1.txt"
    awk '/^Requests\/sec/ { rate = int($2) } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
         END { print rate, p50, p99 }' "$DIR/wrk-$1.txt"
}

# dns_load PORT QUERIES: rate, then p50 and p99 in ms from per-query
# latencies, then the share of answers that list the name (NOERROR).
dns_load() {
    local out="$DIR/dnsperf-$1-$2"
    dnsperf -s 127.0.0.1 -p "$1" -d "$DATA/queries-$2.txt" -l "$SECONDS_EACH" \
        -c "$CONNECTIONS" -q 256 -v >"$out.txt" 2>&1 || true
    local rate count
    rate=$(awk '/Queries per second:/ { printf "%d", $4 }' "$out.txt")
    awk '/^> / { print $NF * 1000 }' "$out.txt" | sort -n >"$out.latency"
    count=$(wc -l <"$out.latency")
    [ "$count" -gt 0 ] || { echo "0 0 0"; return; }
    local listed
    listed=$(awk '/Response codes:/ { for (i = 3; i < NF; i++) if ($i == "NOERROR") { v = $(i + 2); gsub(/[(),]/, "", v) } }
                  END { print (v == "" ? "0%" : v) }' "$out.txt")
    echo "$rate $(sed -n "$((count / 2 + 1))p" "$out.latency")ms $(sed -n "$((count * 99 / 100 + 1))p" "$out.latency")ms $listed"
}

# lookup_load PROTOCOL ADDR MODE: rate, p50, p99 of policy requests or
# HTTP lookups, one thread per connection.
lookup_load() {
    "$BIN/examples/lookup_load" "$1" "$2" "$DATA/listed.txt" "$CONNECTIONS" "$SECONDS_EACH" "$3" \
        | awk '/^(policy|http) / { print $2, $5 "ms", $8 "ms" }'
}

declare -A RESULT
KINDS="listed repeated unknown"
for kind in $KINDS; do
    octet=44
    senders=$LISTED
    [ "$kind" = unknown ] && octet=45
    [ "$kind" = repeated ] && senders=1000
    say "HTTP, $kind senders: wrk, $CONNECTIONS connections, ${SECONDS_EACH}s"
    RESULT[http-$kind]="$(wrk_load "$kind" "$octet" "$senders")"
    say "HTTP, $kind senders: lookup_load, $CONNECTIONS connections, ${SECONDS_EACH}s"
    RESULT[http_load-$kind]="$(lookup_load http "$API" "$kind")"
    say "DNS, $kind senders: dnsperf, $CONNECTIONS clients, ${SECONDS_EACH}s"
    RESULT[dns-$kind]="$(dns_load "$DNS_PORT" "$kind")"
    say "policy, $kind senders: lookup_load, $CONNECTIONS connections, ${SECONDS_EACH}s"
    RESULT[policy-$kind]="$(lookup_load policy "$POLICY" "$kind")"
done

rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$NODE_PID/status")
kill "$NODE_PID"
wait "$NODE_PID" 2>/dev/null || true

# --- a restart: the in-memory mirror is rebuilt from the indexes ---------------------
say "restarting the node on its $stored statements"
started=$(date +%s.%N)
RUST_LOG=info "$VOUCH" --data-dir "$NODE" run >"$DIR/node-restart.log" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")
wait_for "the node did not restart (see $DIR/node-restart.log)" vouch status
restart_secs=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
restart_rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$NODE_PID/status")
kill "$NODE_PID"
wait "$NODE_PID" 2>/dev/null || true

# --- rbldnsd on the same addresses ----------------------------------------------------
say "rbldnsd: the same $LISTED addresses as an ip4set"
# With the zone's SOA, as the node has: a "not listed" answer carries it
# (RFC 2308), so resolvers cache it for the SOA minimum.
echo '$SOA 60 ns.bl.vouch.local. hostmaster.bl.vouch.local. 0 3600 600 86400 60' >"$DATA/soa.txt"
rbldnsd -n -b "127.0.0.1/$RBLDNSD_PORT" -w "$DATA" -u nobody bl.vouch.local:ip4set:soa.txt,listed.txt \
    >"$DIR/rbldnsd.log" 2>&1 &
PIDS+=($!)
rbldnsd_answers() {
    [ "$(dig +short +time=1 +tries=1 -p "$RBLDNSD_PORT" @127.0.0.1 1.0.0.44.bl.vouch.local A)" = 127.0.0.2 ]
}
wait_for "rbldnsd did not answer (see $DIR/rbldnsd.log)" rbldnsd_answers
for kind in $KINDS; do
    say "rbldnsd, $kind senders: dnsperf"
    RESULT[rbldnsd-$kind]="$(dns_load "$RBLDNSD_PORT" "$kind")"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "Vouch: $stored statements imported in $import_secs s ($(awk -v n="$stored" -v s="$import_secs" 'BEGIN { printf "%d", n / s }') statements/s); node RSS $((rss_kb / 1024)) MB after the loads"
echo "Restarted (statements back in memory) in $restart_secs s; RSS $((restart_rss_kb / 1024)) MB"
printf '| %-30s | %10s | %9s | %9s | %10s | %8s |\n' "front-end, senders" "answers/s" "p50" "p99" "vs rbldnsd" "listed"
printf '|%s|%s|%s|%s|%s|%s|\n' "--------------------------------" "-----------:" "----------:" "----------:" "-----------:" "---------:"
for front in http http_load dns policy rbldnsd; do
    for kind in $KINDS; do
        read -r rate p50 p99 listed <<<"${RESULT[$front-$kind]}"
        read -r rbl _ <<<"${RESULT[rbldnsd-$kind]}"
        label=$front
        [ "$front" = http ] && label="http (wrk)"
        [ "$front" = http_load ] && label="http (lookup_load)"
        printf '| %-30s | %10s | %9s | %9s | %10s | %8s |\n' "$label, $kind" "$rate" "$p50" "$p99" "$(ratio "$rate" "$rbl")" "${listed:--}"
    done
done
