//! The Postfix policy protocol, as the node reads it from its socket:
//! whatever the bytes, reading requests one after another never panics,
//! ends, and never reads more than it was given.
//!
//! The parser is the node's own source file, compiled here on its own
//! (it needs only tokio): fuzzing it through `vouch-node` would build
//! RocksDB and libp2p into every fuzz binary for nothing.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../node/src/mta/policy/protocol.rs"]
#[allow(dead_code)]
mod protocol;

/// The node's limits: 2,048-byte lines, 16 KiB requests.
const MAX_LINE: usize = 2048;
const MAX_REQUEST: usize = 16 * 1024;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let mut reader = data;
        // Each request consumes at least one byte, so this many reads
        // always reach the end.
        for _ in 0..=data.len() {
            let before = reader.len();
            match protocol::read_request(&mut reader, MAX_LINE, MAX_REQUEST).await {
                Ok(Some(_)) => assert!(reader.len() < before, "a request consumed nothing"),
                Ok(None) | Err(_) => return,
            }
        }
        panic!("reading requests did not end");
    });
});
