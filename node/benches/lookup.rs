//! HTTP reputation lookups per second, and latency percentiles, against a
//! node holding 1M statements (override with VOUCH_BENCH_STATEMENTS).
//!
//! Run: `cargo bench -p vouch-node --bench lookup`
//!
//! The load generator runs in the same process as the server, so on a small
//! machine both share its cores; the figure is a floor, not a ceiling.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch_node::{Config, DataDir, Node, Store, Verified, unix_now};
use vouch_protocol::{
    Claim, Evidence, Keypair, ReportCategory, Statement, StatementId, VERSION, encode_signed,
};

fn main() {
    let total: usize = std::env::var("VOUCH_BENCH_STATEMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let connections: usize = std::env::var("VOUCH_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let seconds: u64 = std::env::var("VOUCH_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = DataDir::new(dir.path());
    let me = data_dir.init().expect("init");

    // Fill the store: 1,000 authors (trusted by this node), each reporting
    // a spread of IPv4 senders, so every lookup finds statements and a
    // populated /24. Written straight to the store: this measures lookups.
    let started = Instant::now();
    let authors: Vec<Keypair> = (0..1000u32)
        .map(|i| {
            let mut secret = [0u8; 32];
            secret[..4].copy_from_slice(&i.to_be_bytes());
            secret[4] = 1;
            Keypair::from_secret_bytes(secret)
        })
        .collect();
    let now = unix_now();
    {
        let store = Store::open(&data_dir.db_path()).expect("open");
        let sign = |author: &Keypair, subject, claim| {
            let statement = author.sign(Statement {
                version: VERSION,
                subject,
                created_at: now,
                expires_at: now + 86_400 * 7,
                claim,
            });
            let bytes = encode_signed(&statement).expect("encodes");
            Verified {
                id: StatementId::of_bytes(&bytes),
                bytes,
                statement,
            }
        };
        let trust: Vec<Verified> = authors
            .iter()
            .map(|a| {
                sign(
                    &me,
                    vouch_protocol::Subject::Node(a.public()),
                    Claim::Trust { weight: 1 },
                )
            })
            .collect();
        store.insert(&trust).expect("insert trust");
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..total {
            let author = &authors[i % authors.len()];
            // 16 statements per /24 on average, spread over 2^16 blocks.
            let ip = std::net::Ipv4Addr::from(0x0a00_0000u32 + ((i as u32 * 2_654_435_761) >> 8));
            let claim = Claim::Report {
                category: ReportCategory::Spam,
                count: 1,
                evidence: Evidence::default(),
            };
            batch.push(sign(author, ip.into(), claim));
            if batch.len() == batch.capacity() {
                store.insert(&batch).expect("insert");
                batch.clear();
            }
        }
        store.insert(&batch).expect("insert");
        println!(
            "stored {} statements in {:.1}s",
            store.counts().statements,
            started.elapsed().as_secs_f64()
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut config = Config::default();
        config.api.listen = "127.0.0.1:0".parse().expect("addr");
        config.p2p.enabled = false;
        config.policy.enabled = false;
        config.dnsbl.enabled = false;
        let token = data_dir.token().expect("token");
        let mut node = Node::open_with(&data_dir, config, me, token).expect("open node");
        let listeners = node.bind().await.expect("bind");
        let base = format!("http://{}", listeners.api.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(node.serve(listeners, async move {
            let _ = stopped.await;
        }));

        let deadline = Instant::now() + Duration::from_secs(seconds);
        let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
        let latencies = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
        let mut workers = Vec::new();
        for w in 0..connections {
            let (client, base, latencies) = (client.clone(), base.clone(), latencies.clone());
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                let mut i = w as u32;
                while Instant::now() < deadline {
                    i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    let ip = std::net::Ipv4Addr::from(0x0a00_0000u32 + (i >> 8) % (1 << 24));
                    let t = Instant::now();
                    let response = client.get(format!("{base}/v1/reputation/{ip}")).send().await.expect("send");
                    assert!(response.status().is_success());
                    let _ = response.bytes().await.expect("body");
                    mine.push(t.elapsed().as_micros() as u32);
                }
                latencies.lock().expect("lock").extend(mine);
            }));
        }
        for w in workers {
            w.await.expect("worker");
        }
        let mut all = std::mem::take(&mut *latencies.lock().expect("lock"));
        all.sort_unstable();
        let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
        println!(
            "lookups: {} in {seconds}s over {connections} connections = {:.0}/s; latency p50 {}µs p99 {}µs p99.9 {}µs",
            all.len(),
            all.len() as f64 / seconds as f64,
            pct(0.50),
            pct(0.99),
            pct(0.999)
        );
        let _ = stop.send(());
        server.await.expect("join").expect("serve");
    });
}
