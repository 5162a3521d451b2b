//! An export file from anywhere: reading records never panics, never
//! reads past the end, and what it reads writes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_protocol::{MAX_STATEMENT_BYTES, records, write_record};

fuzz_target!(|bytes: &[u8]| {
    let mut rewritten = Vec::new();
    let mut read = records(bytes);
    for record in read.by_ref() {
        let Ok(record) = record else {
            return;
        };
        assert!(record.len() <= MAX_STATEMENT_BYTES);
        write_record(&mut rewritten, record);
    }
    assert_eq!(read.offset(), bytes.len());
    assert_eq!(rewritten, bytes);
});
