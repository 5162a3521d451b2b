//! HTTP reputation lookups per second, and latency percentiles, against a
//! node holding 1M statements (override with VOUCH_BENCH_STATEMENTS).
//!
//! Run: `cargo bench -p vouch-node --bench lookup`
//!
//! The load generator runs in the same process as the server, so on a small
//! machine both share its cores; the figure is a floor, not a ceiling.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch_node::{Config, DataDir, Node};

mod fixture;
use fixture::{env, fill, next, sender};

fn main() {
    let total = env("VOUCH_BENCH_STATEMENTS", 1_000_000);
    let connections = env("VOUCH_BENCH_CONNECTIONS", 32);
    let seconds = env("VOUCH_BENCH_SECONDS", 10) as u64;
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = DataDir::new(dir.path());
    let me = data_dir.init().expect("init");

    fill(&data_dir, &me, total);

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
                let mut state = w as u64;
                while Instant::now() < deadline {
                    let ip = sender(next(&mut state) % total);
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
