//! The export file's records: what is written reads back, and every way a
//! stream can be broken is named with its offset.

use proptest::prelude::*;

use crate::{MAX_STATEMENT_BYTES, RecordError, records, write_record};

fn stream(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        write_record(&mut out, part);
    }
    out
}

proptest! {
    #[test]
    fn what_is_written_reads_back_in_order(
        parts in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..=MAX_STATEMENT_BYTES), 0..8)
    ) {
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let bytes = stream(&slices);
        let read: Vec<&[u8]> = records(&bytes).collect::<Result<_, _>>().expect("reads");
        prop_assert_eq!(read, slices);
    }

    #[test]
    fn a_stream_cut_inside_a_record_says_where(cut in 1usize..20) {
        let bytes = stream(&[b"first", b"second record"]);
        let cut = bytes.len() - cut.min(bytes.len() - 10);
        let mut read = records(&bytes[..cut]);
        prop_assert_eq!(read.next(), Some(Ok(&b"first"[..])));
        prop_assert_eq!(read.next(), Some(Err(RecordError::Truncated { offset: 9 })));
        prop_assert_eq!(read.next(), None);
    }
}

#[test]
fn an_empty_stream_has_no_records() {
    assert_eq!(records(&[]).count(), 0);
}

#[test]
fn a_length_beyond_any_statement_is_refused_and_ends_the_stream() {
    let mut bytes = stream(&[b"ok"]);
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    bytes.extend_from_slice(&stream(&[b"never read"]));
    let read: Vec<_> = records(&bytes).collect();
    assert_eq!(
        read,
        vec![
            Ok(&b"ok"[..]),
            Err(RecordError::TooLarge {
                offset: 6,
                length: u32::MAX as usize
            })
        ]
    );
}

#[test]
fn a_stream_cut_inside_a_length_prefix_is_truncated() {
    let bytes = stream(&[b"ok"]);
    let mut read = records(&bytes[..2]);
    assert_eq!(read.next(), Some(Err(RecordError::Truncated { offset: 0 })));
    assert_eq!(read.next(), None);
}
