//! The plain path against hickory's: for random queries, whenever the
//! plain path answers, hickory's decoder and encoder give the same
//! message, and the everyday queries do take the plain path.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hickory_server::proto::op::Message;
use proptest::prelude::*;
use vouch_protocol::Subject;

use super::plain::PlainQuery;
use super::{DnsblConfig, Zones, udp};
use crate::metrics::Metrics;
use crate::mta::{Lookup, Lookups};
use crate::store;
use crate::test_support::reputation;
use crate::trust::{Reputation, Verdict};

/// Gives every subject a verdict of its own, fixed by its text.
struct Mixed;

impl Lookup for Mixed {
    fn lookup(&self, subject: &Subject, _now: u64) -> Result<Reputation, store::Error> {
        let text = subject.to_string();
        let pick = text.bytes().map(u32::from).sum::<u32>() % 4;
        let (verdict, score) = match pick {
            0 => (Verdict::Block, -5.0),
            1 => (Verdict::Suspect, -1.0),
            2 => (Verdict::Allow, 4.0),
            _ => (Verdict::Neutral, 0.0),
        };
        Ok(reputation(&text, verdict, score))
    }

    fn quick(&self, subject: &Subject, now: u64) -> Option<Reputation> {
        self.lookup(subject, now).ok()
    }
}

/// The name asked about, before the zone.
fn own_labels() -> impl Strategy<Value = (String, bool)> {
    let label = "[a-z]{1,10}";
    prop_oneof![
        any::<[u8; 4]>().prop_map(|[a, b, c, d]| (format!("{d}.{c}.{b}.{a}."), true)),
        Just(("2.0.0.127.".to_owned(), true)),
        Just(("1.0.0.127.".to_owned(), true)),
        any::<u128>().prop_map(|v| {
            let hex = format!("{:032x}", u128::from(Ipv6Addr::from(v)));
            (hex.chars().rev().map(|c| format!("{c}.")).collect(), true)
        }),
        prop::collection::vec(label, 2..4).prop_map(|labels| (labels.join(".") + ".", true)),
        Just(("test.".to_owned(), true)),
        Just(("invalid.".to_owned(), true)),
        // Neither an address nor a domain, the apex, too long to be sure
        // of fitting: hickory's.
        Just(("256.1.1.1.".to_owned(), false)),
        Just(("a_b.example.".to_owned(), false)),
        Just((String::new(), false)),
        Just(("abcdefghij.".repeat(23), false)),
    ]
}

/// A query: name (with letters in random case), type, flags, EDNS.
fn query() -> impl Strategy<Value = (Vec<u8>, bool)> {
    (
        own_labels(),
        prop::sample::select(vec!["bl.vouch.local.", "wl.vouch.local.", "example.org."]),
        prop::sample::select(vec![1u16, 16, 15, 255, 6]),
        any::<u16>(),
        any::<u16>(),
        prop::option::of((
            prop::sample::select(vec![0u16, 100, 512, 1232, 4096]),
            prop::sample::select(vec![None, Some(10u16), Some(8), Some(12)]),
        )),
        any::<u64>(),
    )
        .prop_map(|((own, plain), zone, qtype, id, flags, edns, case)| {
            let name = format!("{own}{zone}");
            let mut bytes = id.to_be_bytes().to_vec();
            // Any flags a query may carry (QR and opcode clear).
            bytes.extend_from_slice(&(flags & 0x07FF).to_be_bytes());
            bytes.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
            for (i, label) in name.split('.').filter(|l| !l.is_empty()).enumerate() {
                bytes.push(u8::try_from(label.len()).expect("short label"));
                bytes.extend(label.bytes().enumerate().map(|(j, b)| {
                    if (case >> ((i * 7 + j) % 64)) & 1 == 1 {
                        b.to_ascii_uppercase()
                    } else {
                        b
                    }
                }));
            }
            bytes.push(0);
            bytes.extend_from_slice(&qtype.to_be_bytes());
            bytes.extend_from_slice(&[0, 1]);
            let mut plain_edns = true;
            if let Some((size, option)) = edns {
                bytes.extend_from_slice(&[0, 0, 41]);
                bytes.extend_from_slice(&size.to_be_bytes());
                bytes.extend_from_slice(&[0, 0, 0x80, 0]);
                match option {
                    None => bytes.extend_from_slice(&[0, 0]),
                    Some(code) => {
                        // A cookie, a client subnet or padding.
                        let data: &[u8] = match code {
                            8 => &[0, 1, 24, 0, 192, 0, 2],
                            _ => &[1, 2, 3, 4, 5, 6, 7, 8],
                        };
                        let length = u16::try_from(data.len()).expect("short");
                        bytes.extend_from_slice(&(length + 4).to_be_bytes());
                        bytes.extend_from_slice(&code.to_be_bytes());
                        bytes.extend_from_slice(&length.to_be_bytes());
                        bytes.extend_from_slice(data);
                        plain_edns = code != 8;
                    }
                }
            }
            let expect_plain =
                plain && plain_edns && zone != "example.org." && matches!(qtype, 1 | 16);
            (bytes, expect_plain)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_plain_path_answers_as_hickory_does((bytes, expect_plain) in query(), list_suspect: bool) {
        let config = DnsblConfig { list_suspect, ..DnsblConfig::default() };
        let zones = Zones::new(
            config,
            Lookups::new(Arc::new(Mixed), crate::mta::MAX_RUNNING_LOOKUPS),
            Metrics::default(),
        );
        let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 5300));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (plain, at_once, hickory) = runtime.block_on(async {
            let (plain, at_once) = match PlainQuery::read(&bytes) {
                Some(query) => (
                    zones.answer_plain(&query, peer).await,
                    zones.answer_plain_now(&query, peer),
                ),
                None => (None, None),
            };
            (plain, at_once, udp::hickory_answer(&zones, bytes.clone(), peer).await)
        });
        prop_assert_eq!(plain.is_some(), expect_plain, "plain path taken");
        prop_assert_eq!(&at_once, &plain, "answered at once as on a task");
        if let Some(plain) = plain {
            let hickory = hickory.expect("hickory answers what the plain path answers");
            let plain = Message::from_vec(&plain).expect("the plain answer decodes");
            let hickory = Message::from_vec(&hickory).expect("hickory's answer decodes");
            prop_assert_eq!(plain, hickory);
        }
    }
}
