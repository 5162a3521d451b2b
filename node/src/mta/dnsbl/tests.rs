//! The zones over real UDP and TCP on 127.0.0.1, against a real node, with
//! hand-built queries (hickory-proto's message codec).

use std::net::{Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::proto::op::{Message, Query, ResponseCode};
use hickory_server::proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;
use vouch_protocol::{EndorseCategory, ReportCategory, Subject};

use super::DnsblConfig;
use super::{Zones, bind, serve};
use crate::metrics::Metrics;
use crate::mta::{Lookup, Lookups};
use crate::store;
use crate::test_support::reputation;
use crate::test_support::{TestNode, peer};
use crate::trust::{Reputation, Verdict};

const LIMIT: Duration = Duration::from_secs(5);

fn query(name: &str, qtype: RecordType) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
    message.to_vec().expect("encode")
}

async fn udp_raw(server: SocketAddr, packet: &[u8]) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    socket.send_to(packet, server).await.expect("send");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    Message::from_vec(buf.get(..n)?).ok()
}

async fn udp(server: SocketAddr, name: &str, qtype: RecordType) -> Message {
    udp_raw(server, &query(name, qtype))
        .await
        .expect("an answer")
}

async fn tcp(server: SocketAddr, name: &str, qtype: RecordType) -> Message {
    let packet = query(name, qtype);
    let mut stream = TcpStream::connect(server).await.expect("connect");
    let length = u16::try_from(packet.len()).expect("small");
    stream
        .write_all(&length.to_be_bytes())
        .await
        .expect("write");
    stream.write_all(&packet).await.expect("write");
    let mut size = [0u8; 2];
    tokio::time::timeout(LIMIT, stream.read_exact(&mut size))
        .await
        .expect("in time")
        .expect("read");
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(size))];
    tokio::time::timeout(LIMIT, stream.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    Message::from_vec(&buf).expect("decode")
}

fn a_records(message: &Message) -> Vec<String> {
    message
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect()
}

fn txt(message: &Message) -> String {
    message
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(t.to_string()),
            _ => None,
        })
        .collect()
}

fn nibbles(ip: Ipv6Addr) -> String {
    let hex = format!("{:032x}", u128::from(ip));
    hex.chars().rev().map(|c| format!("{c}.")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc5782_test_points_in_both_zones_over_udp_and_tcp() {
    let node = TestNode::start(|_| {}).await;
    let listed6 = nibbles("::FFFF:7F00:2".parse().expect("v6"));
    let unlisted6 = nibbles("::FFFF:7F00:1".parse().expect("v6"));
    for zone in ["bl.vouch.local.", "wl.vouch.local."] {
        for (label, listed) in [
            ("2.0.0.127.".to_owned(), true),
            ("1.0.0.127.".to_owned(), false),
            (listed6.clone(), true),
            (unlisted6.clone(), false),
            ("TEST.".to_owned(), true),
            ("INVALID.".to_owned(), false),
        ] {
            let name = format!("{label}{zone}");
            for answer in [
                udp(node.dns, &name, RecordType::A).await,
                tcp(node.dns, &name, RecordType::A).await,
            ] {
                if listed {
                    assert_eq!(
                        answer.metadata.response_code,
                        ResponseCode::NoError,
                        "{name}"
                    );
                    assert_eq!(a_records(&answer), vec!["127.0.0.2"], "{name}");
                    assert!(answer.metadata.authoritative);
                } else {
                    assert_eq!(
                        answer.metadata.response_code,
                        ResponseCode::NXDomain,
                        "{name}"
                    );
                    assert!(answer.answers.is_empty());
                }
            }
        }
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_senders_answer_codes_reasons_and_configured_ttls() {
    let node = TestNode::start(|config| {
        config.dnsbl.ttl_secs = 123;
        config.dnsbl.negative_ttl_secs = 45;
        // Three threads sharing the socket.
        config.dnsbl.udp_threads = 3;
    })
    .await;
    // Two voices block: mine and a trusted peer's.
    let (me, friend) = (node.state.signer.clone(), peer(1));
    node.trust(&friend);
    for author in [&me, &friend] {
        node.report(author, "203.0.113.9", ReportCategory::Phishing, 0);
        node.report(author, "2001:db8::66", ReportCategory::Malware, 0);
        node.report(author, "spam.example", ReportCategory::Spam, 0);
    }
    node.endorse_mine("192.0.2.25", EndorseCategory::Operator);

    let blocked = udp(node.dns, "9.113.0.203.bl.vouch.local.", RecordType::A).await;
    assert_eq!(a_records(&blocked), vec!["127.0.0.3"]);
    assert_eq!(blocked.answers[0].ttl, 123);
    let reason = txt(&udp(node.dns, "9.113.0.203.bl.vouch.local.", RecordType::TXT).await);
    assert!(
        reason.starts_with(
            "Vouch: 203.0.113.9 block: reported by 2 trusted operators in the last 1h (phishing)"
        ),
        "{reason}"
    );
    let v6 = format!(
        "{}bl.vouch.local.",
        nibbles("2001:db8::66".parse().expect("v6"))
    );
    assert_eq!(
        a_records(&udp(node.dns, &v6, RecordType::A).await),
        vec!["127.0.0.4"]
    );
    let domain = tcp(node.dns, "spam.example.bl.vouch.local.", RecordType::ANY).await;
    assert_eq!(a_records(&domain), vec!["127.0.0.2"]);
    assert!(txt(&domain).contains("see vouch query spam.example --explain"));

    // Not in the allow list; the endorsed neighbour is, and not in the block list.
    let not_allowed = udp(node.dns, "9.113.0.203.wl.vouch.local.", RecordType::A).await;
    assert_eq!(not_allowed.metadata.response_code, ResponseCode::NXDomain);
    let soa = not_allowed
        .authorities
        .first()
        .or(not_allowed.additionals.first());
    match soa.map(|r| &r.data) {
        Some(RData::SOA(soa)) => assert_eq!(soa.minimum, 45),
        other => panic!("NXDOMAIN carries the SOA, got {other:?}"),
    }
    assert_eq!(
        a_records(&udp(node.dns, "25.2.0.192.wl.vouch.local.", RecordType::A).await),
        vec!["127.0.0.3"]
    );
    let clean = udp(node.dns, "25.2.0.192.bl.vouch.local.", RecordType::A).await;
    assert_eq!(clean.metadata.response_code, ResponseCode::NXDomain);
    // A listed name asked for another type: NOERROR, no data.
    let aaaa = udp(node.dns, "9.113.0.203.bl.vouch.local.", RecordType::AAAA).await;
    assert_eq!(aaaa.metadata.response_code, ResponseCode::NoError);
    assert!(aaaa.answers.is_empty());
    let apex = udp(node.dns, "bl.vouch.local.", RecordType::SOA).await;
    assert!(matches!(
        apex.answers.first().map(|r| &r.data),
        Some(RData::SOA(_))
    ));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspects_are_listed_under_their_own_codes_only_when_configured() {
    for list_suspect in [false, true] {
        let node = TestNode::start(|config| config.dnsbl.list_suspect = list_suspect).await;
        let p = peer(1);
        node.trust(&p);
        node.report(&p, "203.0.113.77", ReportCategory::Spam, 60);
        let answer = udp(node.dns, "77.113.0.203.bl.vouch.local.", RecordType::A).await;
        if list_suspect {
            assert_eq!(a_records(&answer), vec!["127.0.0.10"]);
        } else {
            assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        }
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_zone_refused_malformed_formerr_and_garbage_never_hurts() {
    let node = TestNode::start(|_| {}).await;
    let refused = udp(node.dns, "example.org.", RecordType::A).await;
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    for bad in [
        "256.0.0.127.bl.vouch.local.",
        "1.2.3.bl.vouch.local.",
        "single.bl.vouch.local.",
    ] {
        let answer = udp(node.dns, bad, RecordType::A).await;
        assert_eq!(
            answer.metadata.response_code,
            ResponseCode::FormErr,
            "{bad}"
        );
    }
    // Two questions in one message.
    let mut two = Message::query();
    for name in ["2.0.0.127.bl.vouch.local.", "TEST.bl.vouch.local."] {
        two.add_query(Query::query(
            Name::from_ascii(name).expect("name"),
            RecordType::A,
        ));
    }
    let answer = udp_raw(node.dns, &two.to_vec().expect("encode"))
        .await
        .expect("answer");
    assert_eq!(answer.metadata.response_code, ResponseCode::FormErr);
    // A header announcing a question that is not there, and short junk.
    let mut truncated = query("2.0.0.127.bl.vouch.local.", RecordType::A);
    truncated.truncate(20);
    let answer = udp_raw(node.dns, &truncated).await.expect("answer");
    assert_eq!(answer.metadata.response_code, ResponseCode::FormErr);
    assert!(udp_raw(node.dns, b"\x01\x02junk").await.is_none());
    let mut stream = TcpStream::connect(node.dns).await.expect("connect");
    stream
        .write_all(b"\xff\xff\x00\x00garbage")
        .await
        .expect("write");
    drop(stream);
    // Still serving.
    let fine = udp(node.dns, "2.0.0.127.bl.vouch.local.", RecordType::A).await;
    assert_eq!(a_records(&fine), vec!["127.0.0.2"]);
    let metrics = node.metrics();
    assert!(
        metrics.contains("vouch_mta_malformed_total{server=\"dnsbl\",reason=\"bad_name\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vouch_dns_answers_total{zone=\"none\",rcode=\"refused\"} 1"),
        "{metrics}"
    );
    node.stop().await;
}

struct Slow;

impl Lookup for Slow {
    fn lookup(&self, subject: &Subject, _now: u64) -> Result<Reputation, store::Error> {
        std::thread::sleep(Duration::from_millis(1500));
        Ok(reputation(&subject.to_string(), Verdict::Block, -5.0))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_store_answers_servfail_not_a_listing() {
    let config = DnsblConfig {
        timeout_ms: 100,
        ..DnsblConfig::default()
    };
    let (udp_socket, tcp_listener) = bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = udp_socket.local_addr().expect("addr");
    let metrics = Metrics::default();
    let (stop, stopping) = watch::channel(false);
    let zones = Zones::new(
        config,
        Lookups::new(Arc::new(Slow), crate::mta::MAX_RUNNING_LOOKUPS),
        metrics.clone(),
    );
    let server = tokio::spawn(serve(zones, udp_socket, tcp_listener, stopping));
    let answer = udp(addr, "9.113.0.203.bl.vouch.local.", RecordType::A).await;
    assert_eq!(answer.metadata.response_code, ResponseCode::ServFail);
    assert!(answer.answers.is_empty());
    assert!(
        metrics
            .render()
            .contains("vouch_mta_fallbacks_total{server=\"dnsbl\",reason=\"timeout\"} 1")
    );
    let _ = stop.send(true);
    tokio::time::timeout(LIMIT, server)
        .await
        .expect("stops")
        .expect("join");
}

/// Lists everything it is asked about, at once.
struct Listed;

impl Lookup for Listed {
    fn lookup(&self, subject: &Subject, _now: u64) -> Result<Reputation, store::Error> {
        Ok(reputation(&subject.to_string(), Verdict::Block, -5.0))
    }
}

/// Sends one query on an open connection; its answer, if one comes within
/// `wait`.
async fn ask(stream: &mut TcpStream, name: &str, wait: Duration) -> Option<Message> {
    let packet = query(name, RecordType::A);
    let length = u16::try_from(packet.len()).expect("small");
    stream.write_all(&length.to_be_bytes()).await.ok()?;
    stream.write_all(&packet).await.ok()?;
    let read = async {
        let mut size = [0u8; 2];
        stream.read_exact(&mut size).await?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(size))];
        stream.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(wait, read).await.ok()?.ok()?;
    Message::from_vec(&buf).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connections_beyond_the_cap_wait_until_one_closes() {
    let config = DnsblConfig {
        max_tcp_connections: 2,
        ..DnsblConfig::default()
    };
    let (udp_socket, tcp_listener) = bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = tcp_listener.local_addr().expect("addr");
    let (stop, stopping) = watch::channel(false);
    let zones = Zones::new(
        config,
        Lookups::new(Arc::new(Listed), crate::mta::MAX_RUNNING_LOOKUPS),
        Metrics::default(),
    );
    let server = tokio::spawn(serve(zones, udp_socket, tcp_listener, stopping));
    let name = "9.113.0.203.bl.vouch.local.";
    let mut first = TcpStream::connect(addr).await.expect("connect");
    let mut second = TcpStream::connect(addr).await.expect("connect");
    for stream in [&mut first, &mut second] {
        let answer = ask(stream, name, LIMIT).await.expect("an answer");
        assert_eq!(a_records(&answer), vec!["127.0.0.2"]);
    }
    // The third connects (the kernel's backlog) but is not served…
    let mut third = TcpStream::connect(addr).await.expect("connect");
    assert!(
        ask(&mut third, name, Duration::from_millis(700))
            .await
            .is_none(),
        "a third connection was served beyond the cap of two"
    );
    // …until one of the two closes; its query is then answered.
    drop(first);
    let answer = async {
        let mut size = [0u8; 2];
        third.read_exact(&mut size).await?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(size))];
        third.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(LIMIT, answer)
        .await
        .expect("served once a slot is free")
        .expect("read");
    let answer = Message::from_vec(&buf).expect("decode");
    assert_eq!(a_records(&answer), vec!["127.0.0.2"]);
    let answer = ask(&mut second, name, LIMIT).await.expect("still served");
    assert_eq!(a_records(&answer), vec!["127.0.0.2"]);
    let _ = stop.send(true);
    tokio::time::timeout(LIMIT, server)
        .await
        .expect("stops")
        .expect("join");
}
