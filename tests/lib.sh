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
