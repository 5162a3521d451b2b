#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of every parser that takes
# bytes from outside (the protocol's, and the node's policy, DNS-name and
# message readers):
# every target in fuzz/fuzz_targets runs for SECONDS (default 60), then the
# executions each survived are printed. A crash fails the run and leaves
# its input in the artifacts directory; turn it into a regression test.
#
# Builds, corpora and artifacts stay outside the clone (VOUCH_FUZZ_DIR,
# default /var/tmp/vouch-fuzz). Needs the nightly toolchain; installs
# cargo-fuzz when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
DIR="${VOUCH_FUZZ_DIR:-/var/tmp/vouch-fuzz}"
export CARGO_TARGET_DIR="$DIR/target"

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz

cargo +nightly fuzz build -O
results=()
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$DIR/corpus/$target" "$DIR/artifacts/$target"
    echo "== fuzzing $target for ${SECONDS_EACH}s"
    log="$DIR/$target.log"
    # Seeds: fuzz/seeds/TARGET, and the test messages for `message`
    # (libFuzzer adds what it finds to the first directory only).
    seeds=()
    [ -d "fuzz/seeds/$target" ] && seeds+=("fuzz/seeds/$target")
    [ "$target" = message ] && seeds+=(tests/data/messages)
    if ! cargo +nightly fuzz run -O "$target" "$DIR/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
        -artifact_prefix="$DIR/artifacts/$target/" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "FAIL: $target crashed; the input is in $DIR/artifacts/$target/" >&2
        exit 1
    fi
    runs=$(awk '/^Done [0-9]+ runs/ { print $2 }' "$log" | tail -n 1)
    results+=("$target ${runs:-?}")
done
echo
printf '| %-10s | %14s | %8s |\n' target executions seconds
for result in "${results[@]}"; do
    read -r target runs <<<"$result"
    printf '| %-10s | %14s | %8s |\n' "$target" "$runs" "$SECONDS_EACH"
done
