//! Bytes from a peer: decoding never panics, what decodes re-encodes to
//! the same bytes, and validation and both verification paths judge it
//! without panicking and agree with each other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_protocol::{
    BatchVerifier, Limits, decode_signed, encode_signed, validate, verify,
};

fuzz_target!(|bytes: &[u8]| {
    let Ok(statement) = decode_signed(bytes) else {
        return;
    };
    assert_eq!(encode_signed(&statement).ok().as_deref(), Some(bytes));
    let _ = validate(&statement, 1_800_000_000, &Limits::default());
    let single = verify(&statement);
    let mut verifier = BatchVerifier::default();
    assert_eq!(verifier.verify_one(&statement), single);
    assert_eq!(
        verifier.verify_many(std::slice::from_ref(&statement)),
        vec![single]
    );
});
