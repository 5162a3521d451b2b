//! Raw messages, as the node reads them for evidence (a Junk folder, a
//! filter, an operator): whatever the bytes, reading never panics and
//! keeps at most `MAX_HOPS` Received hops.
//!
//! The reader is the node's own source file, compiled here on its own (it
//! needs only mail-parser and sha2).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../node/src/evidence/message.rs"]
#[allow(dead_code)]
mod message;

fuzz_target!(|data: &[u8]| {
    if let Ok(facts) = message::parse(data) {
        assert!(facts.hops.len() <= message::MAX_HOPS);
        assert!(facts.hops.iter().any(|hop| hop.ip.is_some()));
    }
});
