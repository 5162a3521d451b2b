//! The policy server over real TCP on 127.0.0.1, against a real node, and
//! against stand-in lookups that are slow or fail.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use vouch_protocol::{ReportCategory, Subject};

use super::Server;
use super::{PolicyAction, PolicyConfig};
use crate::metrics::Metrics;
use crate::mta::{Lookup, Lookups};
use crate::store;
use crate::test_support::reputation;
use crate::test_support::{TestNode, peer};
use crate::trust::{Reputation, Verdict};

const LIMIT: Duration = Duration::from_secs(10);

struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (read, writer) = stream.into_split();
        Client {
            reader: BufReader::new(read),
            writer,
        }
    }

    /// Sends one request and returns its `action=` value.
    async fn ask(&mut self, attributes: &[(&str, &str)]) -> String {
        let mut text = String::from("request=smtpd_access_policy\nprotocol_state=RCPT\n");
        for (name, value) in attributes {
            text.push_str(&format!("{name}={value}\n"));
        }
        text.push('\n');
        self.writer.write_all(text.as_bytes()).await.expect("write");
        self.answer().await.expect("an answer")
    }

    async fn answer(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(LIMIT, self.reader.read_line(&mut line))
            .await
            .expect("answer in time")
            .ok()?;
        if n == 0 {
            return None;
        }
        let mut blank = String::new();
        tokio::time::timeout(LIMIT, self.reader.read_line(&mut blank))
            .await
            .expect("blank line in time")
            .expect("read");
        assert_eq!(blank, "\n", "an answer ends with an empty line");
        Some(
            line.trim_end()
                .strip_prefix("action=")
                .expect("action=")
                .to_owned(),
        )
    }

    /// True when the server closed the connection (EOF) without answering.
    async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(
            tokio::time::timeout(LIMIT, self.reader.read_to_end(&mut rest)).await,
            Ok(Ok(0))
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_on_one_connection_get_verdict_based_answers() {
    let node = TestNode::start(|_| {}).await;
    // Two voices block: mine and a trusted peer's.
    node.report_mine("203.0.113.9");
    let friend = peer(1);
    node.trust(&friend);
    node.report(&friend, "203.0.113.9", ReportCategory::Spam, 0);
    node.endorse_mine("192.0.2.25", vouch_protocol::EndorseCategory::Operator);
    let mut client = Client::connect(node.policy).await;

    let blocked = client
        .ask(&[("client_address", "203.0.113.9"), ("instance", "a")])
        .await;
    assert!(blocked.starts_with("554 5.7.1 Vouch: client 203.0.113.9 reported by 2 trusted operators in the last 1h (spam)"), "{blocked}");
    assert!(
        blocked.ends_with("see vouch query 203.0.113.9 --explain"),
        "{blocked}"
    );

    let unknown = client
        .ask(&[("client_address", "198.51.100.7"), ("instance", "b")])
        .await;
    assert!(
        unknown.starts_with("PREPEND X-Vouch: verdict=neutral; score=0.000;"),
        "{unknown}"
    );
    // A second recipient of the same message is not tagged twice.
    let again = client
        .ask(&[("client_address", "198.51.100.7"), ("instance", "b")])
        .await;
    assert_eq!(again, "DUNNO");

    let endorsed = client
        .ask(&[("client_address", "192.0.2.25"), ("instance", "c")])
        .await;
    assert!(
        endorsed.starts_with("PREPEND X-Vouch: verdict=allow;"),
        "{endorsed}"
    );
    let v6 = client
        .ask(&[
            ("client_address", "2001:db8::1"),
            ("unknown_future_attribute", "x"),
        ])
        .await;
    assert!(v6.contains("subject=2001:db8::1"), "{v6}");
    let no_client = client.ask(&[("sender", "a@example.org")]).await;
    assert_eq!(no_client, "DUNNO");

    let metrics = node.metrics();
    assert!(
        metrics.contains("vouch_policy_answers_total{action=\"reject\"} 1"),
        "{metrics}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_peers_reports_sender_domains_and_helo_names() {
    let node = TestNode::start(|config| {
        config.policy.check_sender_domain = true;
        config.policy.check_helo_name = true;
        config.policy.on_suspect = PolicyAction::DeferIfPermit;
    })
    .await;
    for n in 1..=2 {
        let p = peer(n);
        node.trust(&p);
        node.report(&p, "203.0.113.50", ReportCategory::Phishing, 3600 * 11 + 30);
    }
    node.report_mine("spam.example");
    node.report(&peer(1), "spam.example", ReportCategory::Spam, 0);
    let mut client = Client::connect(node.policy).await;
    let by_peers = client.ask(&[("client_address", "203.0.113.50")]).await;
    // Two trusted peers, reports eleven hours old (nearly a half-life):
    // suspect, deferred.
    assert_eq!(
        by_peers,
        "DEFER_IF_PERMIT 4.7.1 Vouch: client 203.0.113.50 reported by 2 trusted operators \
         in the last 12h (phishing); see vouch query 203.0.113.50 --explain"
    );
    let by_domain = client
        .ask(&[
            ("client_address", "198.51.100.7"),
            ("sender", "x@spam.example"),
        ])
        .await;
    assert!(
        by_domain.starts_with("554 5.7.1 Vouch: sender domain spam.example "),
        "{by_domain}"
    );
    let by_helo = client
        .ask(&[
            ("client_address", "198.51.100.7"),
            ("helo_name", "SPAM.example"),
        ])
        .await;
    assert!(
        by_helo.starts_with("554 5.7.1 Vouch: HELO name spam.example "),
        "{by_helo}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_close_the_connection_are_counted_and_the_server_goes_on() {
    let node = TestNode::start(|config| config.policy.max_line_bytes = 256).await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            format!("client_address={}\n\n", "1".repeat(300)).into_bytes(),
            "line_too_long",
        ),
        ("a=b\n".repeat(5000).into_bytes(), "request_too_large"),
        (
            b"this is not a policy request\n\n".to_vec(),
            "not_attribute",
        ),
        (b"client_address=\xff\n\n".to_vec(), "not_utf8"),
        (b"\x00\x01\x02=\n\n".to_vec(), ""),
    ];
    for (input, label) in &cases {
        let mut client = Client::connect(node.policy).await;
        let _ = client.writer.write_all(input).await;
        if label.is_empty() {
            // A binary attribute name is still name=value: answered, not fatal.
            assert_eq!(client.answer().await.as_deref(), Some("DUNNO"));
            continue;
        }
        assert!(client.closed().await, "{label}: connection closed");
        let metrics = node.metrics();
        let counted =
            format!("vouch_mta_malformed_total{{server=\"policy\",reason=\"{label}\"}} 1");
        assert!(metrics.contains(&counted), "{counted} in {metrics}");
    }
    // A half-sent request followed by a close is counted too, and the server still answers.
    let mut client = Client::connect(node.policy).await;
    client
        .writer
        .write_all(b"client_address=192.0.2.1\n")
        .await
        .expect("write");
    client.writer.shutdown().await.expect("shutdown");
    assert!(client.closed().await);
    let mut client = Client::connect(node.policy).await;
    assert!(
        client
            .ask(&[("client_address", "192.0.2.1")])
            .await
            .starts_with("PREPEND")
    );
    node.stop().await;
}

/// A lookup that blocks for a while, or fails.
struct Broken {
    delay: Duration,
    fail: bool,
}

impl Lookup for Broken {
    fn lookup(&self, subject: &Subject, _now: u64) -> Result<Reputation, store::Error> {
        std::thread::sleep(self.delay);
        if self.fail {
            return Err(store::Error::MissingColumnFamily("statements"));
        }
        Ok(reputation(&subject.to_string(), Verdict::Block, -5.0))
    }
}

async fn serve_broken(lookup: Broken) -> (std::net::SocketAddr, Metrics, watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let metrics = Metrics::default();
    let config = PolicyConfig {
        timeout_ms: 100,
        ..PolicyConfig::default()
    };
    let (stop, stopping) = watch::channel(false);
    let server = Server::new(
        config,
        Lookups::new(Arc::new(lookup), crate::mta::MAX_RUNNING_LOOKUPS),
        metrics.clone(),
    );
    tokio::spawn(server.serve(listener, stopping));
    (addr, metrics, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_failing_store_answers_dunno_never_reject() {
    let (slow, slow_metrics, stop_slow) = serve_broken(Broken {
        delay: Duration::from_millis(1500),
        fail: false,
    })
    .await;
    let mut client = Client::connect(slow).await;
    let started = std::time::Instant::now();
    assert_eq!(
        client.ask(&[("client_address", "203.0.113.9")]).await,
        "DUNNO"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "answered at the deadline"
    );
    assert!(
        slow_metrics
            .render()
            .contains("vouch_mta_fallbacks_total{server=\"policy\",reason=\"timeout\"} 1")
    );

    let (failing, failing_metrics, stop_failing) = serve_broken(Broken {
        delay: Duration::ZERO,
        fail: true,
    })
    .await;
    let mut client = Client::connect(failing).await;
    assert_eq!(
        client.ask(&[("client_address", "203.0.113.9")]).await,
        "DUNNO"
    );
    assert!(
        failing_metrics
            .render()
            .contains("vouch_mta_fallbacks_total{server=\"policy\",reason=\"store\"} 1")
    );

    // Stopping closes open connections.
    let _ = stop_slow.send(true);
    let _ = stop_failing.send(true);
    assert!(client.closed().await);
}
