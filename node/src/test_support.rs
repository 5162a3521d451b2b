//! What the node's tests share: a real node (real RocksDB in a tempdir)
//! with its API, policy, DNS and network sockets on loopback port 0, and
//! HTTP helpers to talk to it; raw message fixtures; and a stand-in
//! reputation for the front-ends' fake lookups.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::sync::oneshot;
use vouch_protocol::{
    Claim, EndorseCategory, Evidence, Keypair, ReportCategory, Statement, Subject, VERSION,
};

use crate::api::AppState;
use crate::clock::unix_now;
use crate::config::Config;
use crate::data_dir::DataDir;
use crate::ingest::Ingested;
use crate::node::Node;
use crate::trust::{Reputation, Verdict};

/// A raw message from tests/data/messages, as bytes.
macro_rules! message_fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/messages/",
            $name
        ))
        .as_slice()
    };
}
pub(crate) use message_fixture;

pub struct TestNode {
    pub api: SocketAddr,
    pub token: String,
    pub policy: SocketAddr,
    pub dns: SocketAddr,
    pub state: AppState,
    /// The network address peers dial (ends in /p2p/<peer id>), if enabled.
    pub p2p: Option<libp2p::Multiaddr>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), crate::NodeError>>>,
    dir: tempfile::TempDir,
}

/// A peer operator's key, deterministic per `n`.
pub fn peer(n: u8) -> Keypair {
    let mut secret = [7u8; 32];
    secret[0] = n;
    Keypair::from_secret_bytes(secret)
}

impl TestNode {
    pub async fn start(configure: impl FnOnce(&mut Config)) -> TestNode {
        TestNode::start_in(tempfile::tempdir().expect("tempdir"), configure).await
    }

    /// Stops the node and starts it again on the same data directory.
    pub async fn restart(mut self, configure: impl FnOnce(&mut Config)) -> TestNode {
        self.shut_down().await;
        // Every handle on the store must be gone before it is reopened.
        let TestNode { dir, state, .. } = self;
        drop(state);
        TestNode::start_in(dir, configure).await
    }

    async fn start_in(dir: tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> TestNode {
        let data_dir = DataDir::new(dir.path());
        if !data_dir.is_initialised() {
            data_dir.init().expect("init");
        }
        let mut config = Config::default();
        config.api.listen = "127.0.0.1:0".parse().expect("addr");
        config.policy.listen = "127.0.0.1:0".parse().expect("addr");
        config.dnsbl.listen = "127.0.0.1:0".parse().expect("addr");
        config.p2p.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        configure(&mut config);
        let token = data_dir.token().expect("token");
        // After a restart, a blocking task of the stopped node may hold the
        // store for a few more milliseconds (a process exit would release it).
        let mut opened = Node::open_with(
            &data_dir,
            config.clone(),
            data_dir.keypair().expect("key"),
            token.clone(),
        );
        for _ in 0..40 {
            if opened.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            opened = Node::open_with(
                &data_dir,
                config.clone(),
                data_dir.keypair().expect("key"),
                token.clone(),
            );
        }
        let mut node = opened.expect("open");
        let state = node.state().clone();
        let listeners = node.bind().await.expect("bind");
        let api = listeners.api.local_addr().expect("api addr");
        let policy = listeners.mta.policy_addr().expect("policy enabled");
        let dns = listeners.mta.dns_addr().expect("dnsbl enabled");
        let networked = listeners.p2p.is_some();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(node.serve(listeners, async move {
            let _ = stopped.await;
        }));
        let mut p2p = None;
        for _ in 0..100 {
            if !networked {
                break;
            }
            p2p = state.p2p.listen_addrs().await.expect("network runs").pop();
            if p2p.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(!networked || p2p.is_some(), "network did not listen");
        TestNode {
            api,
            token,
            policy,
            dns,
            state,
            p2p,
            stop: Some(stop),
            server: Some(server),
            dir,
        }
    }

    pub fn submit(&self, author: &Keypair, subject: Subject, claim: Claim, age_secs: u64) {
        let now = unix_now();
        let statement = author.sign(Statement {
            version: VERSION,
            subject,
            created_at: now - age_secs,
            expires_at: now + 86_400 * 7,
            claim,
        });
        let result = self
            .state
            .ingest
            .submit(vec![statement], now)
            .expect("ingest");
        assert!(
            matches!(result.first(), Some(Ingested::Stored { .. })),
            "{result:?}"
        );
        self.state.trust.recompute_if_dirty();
    }

    /// This node vouches for `peer`.
    pub fn trust(&self, peer: &Keypair) {
        let subject = Subject::Node(peer.public());
        let signer = self.state.signer.clone();
        self.submit(&signer, subject, Claim::Trust { weight: 100 }, 0);
    }

    /// `author` reports `subject`, made `age_secs` ago.
    pub fn report(&self, author: &Keypair, subject: &str, category: ReportCategory, age_secs: u64) {
        let claim = Claim::Report {
            category,
            count: 1,
            evidence: Evidence::default(),
        };
        self.submit(author, subject.parse().expect("subject"), claim, age_secs);
    }

    /// The node itself reports `subject` (trust 1: one report blocks).
    pub fn report_mine(&self, subject: &str) {
        let signer = self.state.signer.clone();
        self.report(&signer, subject, ReportCategory::Spam, 0);
    }

    /// The node itself endorses `subject`.
    pub fn endorse_mine(&self, subject: &str, category: EndorseCategory) {
        let signer = self.state.signer.clone();
        self.endorse(&signer, subject, category);
    }

    /// `author` endorses `subject` (an `operator` endorsement of a domain
    /// is the author's claim to that name).
    pub fn endorse(&self, author: &Keypair, subject: &str, category: EndorseCategory) {
        self.submit(
            author,
            subject.parse().expect("subject"),
            Claim::Endorse { category },
            0,
        );
    }

    pub fn metrics(&self) -> String {
        self.state.metrics.render()
    }

    pub async fn stop(mut self) {
        self.shut_down().await;
    }

    /// GETs an API path: the status and the JSON body (null if none).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        answer(reqwest::Client::new().get(format!("http://{}{path}", self.api))).await
    }

    /// POSTs JSON to an API path with the token.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let request = reqwest::Client::new().post(format!("http://{}{path}", self.api));
        answer(request.bearer_auth(&self.token).json(&body)).await
    }

    /// POSTs raw bytes (a message) to an API path with the token.
    pub async fn post_raw(&self, path: &str, raw: Vec<u8>) -> (u16, Value) {
        let request = reqwest::Client::new().post(format!("http://{}{path}", self.api));
        answer(request.bearer_auth(&self.token).body(raw)).await
    }

    /// GETs an API path that must succeed; its JSON body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert!((200..300).contains(&status), "GET {path}: {status} {body}");
        body
    }

    /// POSTs JSON that must succeed; the answer's JSON body.
    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, body).await;
        assert!(
            (200..300).contains(&status),
            "POST {path}: {status} {answer}"
        );
        answer
    }

    async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(std::time::Duration::from_secs(10), server)
                .await
                .expect("node stops in time")
                .expect("join")
                .expect("serve");
        }
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A reputation of `subject` with `verdict` and `score` and nothing behind
/// them (no statements, no explanation): what a stand-in lookup answers.
pub fn reputation(subject: &str, verdict: Verdict, score: f64) -> Reputation {
    Reputation {
        subject: subject.parse().expect("subject"),
        score,
        confidence: 0.5,
        verdict,
        endorsed: score.max(0.0),
        reported: (-score).max(0.0),
        netblock: 0.0,
        netblock_reported_ips: 0,
        forwarder: false,
        remediated_at: None,
        fresh_reporters: 0,
        fresh_window_minutes: 60.0,
        statements: 0,
        explanation: Vec::new(),
    }
}

/// Stores `claim` about `subject` by `author`, made at `created_at` and
/// living `ttl` seconds, straight into `store` (as ingest would once the
/// statement is verified).
pub fn store_said(
    store: &crate::store::Store,
    author: &Keypair,
    subject: &str,
    claim: Claim,
    created_at: u64,
    ttl: u64,
) {
    let statement = author.sign(Statement {
        version: VERSION,
        subject: subject.parse().expect("subject"),
        created_at,
        expires_at: created_at + ttl,
        claim,
    });
    let bytes = vouch_protocol::encode_signed(&statement).expect("encodes");
    let verified = crate::store::Verified {
        id: vouch_protocol::StatementId::of_bytes(&bytes),
        bytes,
        statement,
    };
    store.insert(&[verified]).expect("insert");
}
