//! The plain DNS query reader, on any datagram: reading never panics, and
//! whatever it reads answers with a message hickory decodes, carrying the
//! query's id and question.
//!
//! The reader is the node's own source file, compiled here on its own (it
//! needs only hickory's response codes).
#![no_main]

use hickory_server::proto::op::{Message, ResponseCode};
use libfuzzer_sys::fuzz_target;

#[path = "../../node/src/mta/dnsbl/plain.rs"]
#[allow(dead_code)]
mod plain;

use plain::{PlainQuery, Record};

fuzz_target!(|data: &[u8]| {
    let Some(query) = PlainQuery::read(data) else {
        return;
    };
    let labels: Vec<&[u8]> = query.labels().collect();
    assert!(labels.iter().all(|l| !l.is_empty() && l.len() <= 63));
    let _ = query.fits(plain::MAX_ANSWER_RECORD, 1232);
    let record = if query.asks_text() {
        Record::Txt {
            text: "Vouch: fuzzed",
            ttl: 60,
        }
    } else {
        Record::A { code: 2, ttl: 60 }
    };
    let answer = query.answer(ResponseCode::NoError, true, Some(record), None, 1232);
    let decoded = Message::from_vec(&answer).expect("the answer decodes");
    let asked = Message::from_vec(data).expect("a plain query decodes");
    assert_eq!(decoded.metadata.id, asked.metadata.id);
    assert_eq!(decoded.queries, asked.queries);
    assert_eq!(decoded.answers.len(), 1);
});
