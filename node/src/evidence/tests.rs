//! The origin walk over real-shaped messages (tests/data/messages).

use std::net::IpAddr;

use sha2::Digest;

use super::message::{self, MessageError};
use super::origin::{self, OriginError, OwnHosts};
use crate::test_support::message_fixture;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn own() -> OwnHosts {
    OwnHosts::new(
        vec!["185.199.108.0/24".parse().unwrap()],
        vec!["mx.example.net".into()],
    )
}

fn origin_of(raw: &[u8]) -> origin::Origin {
    let facts = message::parse(raw).unwrap();
    origin::find(&facts, &own(), 8).unwrap()
}

#[test]
fn a_plain_message_names_the_host_that_connected_and_its_helo() {
    let facts = message::parse(message_fixture!("plain.eml")).unwrap();
    assert_eq!(facts.hops.len(), 3);
    assert_eq!(
        facts.envelope_domain.as_deref(),
        Some("offers.spamsender.example")
    );
    let body: [u8; 32] = sha2::Sha256::digest(b"Claim your prize now.\r\n").into();
    assert_eq!(facts.body_hash, body);
    let origin = origin::find(&facts, &own(), 8).unwrap();
    assert_eq!(origin.ip, ip("45.142.120.10"));
    assert_eq!(origin.helo.as_deref(), Some("mail.spamsender.example"));
    // The hop behind it is a private address: no use to anyone.
    assert!(origin.relay_chain.is_empty(), "{:?}", origin.relay_chain);
}

#[test]
fn a_list_or_forwarder_is_the_origin_and_the_host_behind_it_the_relay_chain() {
    let list = origin_of(message_fixture!("mailing-list.eml"));
    assert_eq!(list.ip, ip("193.0.6.139"));
    assert_eq!(list.relay_chain, vec![ip("81.2.69.160")]);
    let forwarded = origin_of(message_fixture!("forwarded.eml"));
    assert_eq!(forwarded.ip, ip("185.12.64.1"));
    assert_eq!(forwarded.relay_chain, vec![ip("81.2.69.161")]);
}

#[test]
fn arc_sets_fill_the_relay_chain_nearest_first() {
    let facts = message::parse(message_fixture!("arc.eml")).unwrap();
    assert_eq!(
        facts.arc_ips,
        vec![ip("209.85.220.41"), ip("91.198.174.192")]
    );
    let origin = origin::find(&facts, &own(), 8).unwrap();
    assert_eq!(origin.ip, ip("209.85.220.69"));
    assert_eq!(
        origin.relay_chain,
        vec![ip("209.85.220.41"), ip("91.198.174.192")]
    );
    // The chain is bounded.
    assert_eq!(
        origin::find(&facts, &own(), 1).unwrap().relay_chain.len(),
        1
    );
}

#[test]
fn ipv6_origins_are_found() {
    let origin = origin_of(message_fixture!("ipv6.eml"));
    assert_eq!(origin.ip, ip("2a00:1450:4864:20::42a"));
    assert_eq!(origin.helo.as_deref(), Some("v6.spamsender.example"));
}

#[test]
fn own_networks_and_host_names_are_skipped() {
    // Our MX hands over from 185.199.108.25, one of our networks; the
    // top hop is also named by reverse DNS as one of our hosts.
    let raw = b"Received: from mx2.example.net (mx2.example.net [185.199.108.25])\r\n\
        \tby store.example.net with ESMTP; Tue, 01 Dec 2026 10:00:09 +0000\r\n\
        Received: from edge.example.net (mx.example.net [5.6.7.8])\r\n\
        \tby mx2.example.net with ESMTP; Tue, 01 Dec 2026 10:00:08 +0000\r\n\
        Received: from spam.example (spam.example [45.142.120.11])\r\n\
        \tby edge.example.net with ESMTP; Tue, 01 Dec 2026 10:00:07 +0000\r\n\
        Subject: x\r\n\r\nx\r\n";
    let origin = origin_of(raw);
    assert_eq!(origin.ip, ip("45.142.120.11"));
    // Without the configuration the first public hop is the origin.
    let facts = message::parse(raw).unwrap();
    let bare = origin::find(&facts, &OwnHosts::default(), 8).unwrap();
    assert_eq!(bare.ip, ip("185.199.108.25"));
}

#[test]
fn an_all_internal_message_has_nothing_to_report() {
    let facts = message::parse(message_fixture!("internal.eml")).unwrap();
    assert_eq!(
        origin::find(&facts, &own(), 8),
        Err(OriginError::AllInternal)
    );
}

#[test]
fn malformed_headers_give_a_clear_error_and_truncated_ones_what_they_hold() {
    assert_eq!(
        message::parse(message_fixture!("malformed.eml")),
        Err(MessageError::NoReceived)
    );
    assert_eq!(message::parse(b""), Err(MessageError::NoHeaders));
    assert!(message::parse(&[0xff; 64]).is_err());
    // Cut inside the second Received header: the part before the cut still
    // names the host that connected.
    let origin = origin_of(message_fixture!("truncated.eml"));
    assert_eq!(origin.ip, ip("45.142.120.10"));
}

#[test]
fn a_ten_megabyte_body_is_hashed_not_parsed() {
    let mut raw = message_fixture!("plain.eml").to_vec();
    raw.extend(
        std::iter::repeat_n(
            b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n".as_slice(),
            160_000,
        )
        .flatten(),
    );
    assert!(raw.len() > 10_000_000);
    let big = message::parse(&raw).unwrap();
    let small = message::parse(message_fixture!("plain.eml")).unwrap();
    assert_eq!(big.hops, small.hops);
    assert_ne!(big.body_hash, small.body_hash);
}

#[test]
fn hundreds_of_received_headers_are_bounded() {
    let mut raw = Vec::new();
    for i in 0..500 {
        raw.extend(
            format!(
                "Received: from h{i} (h{i} [10.0.{}.{}]) by x; Tue, 01 Dec 2026 10:00:00 +0000\r\n",
                i / 250,
                i % 250
            )
            .as_bytes(),
        );
    }
    raw.extend(b"Subject: x\r\n\r\nx\r\n");
    let facts = message::parse(&raw).unwrap();
    assert_eq!(facts.hops.len(), message::MAX_HOPS);
    assert_eq!(
        origin::find(&facts, &own(), 8),
        Err(OriginError::AllInternal)
    );
}
