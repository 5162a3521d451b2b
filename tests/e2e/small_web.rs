//! A new operator's small web of trust, on real `vouch` processes: four
//! honest nodes, and a six-key sybil clique let in by a peer's peer. The
//! clique reports a legitimate server on the first node's loopback network.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vouch_sim::testnet::{Cluster, Engine};

use crate::harness::vouch_bin;

const SERVER: &str = "192.0.2.77";

/// Polls `check` every 100 ms until it holds or `secs` pass.
fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {secs}s waiting until {what}");
}

fn vouch(cluster: &Cluster, from: usize, to: usize, weight: u8) {
    let node = cluster.members[to].peer_id.clone();
    cluster
        .post(from, "/v1/trust", &json!({"node": node, "weight": weight}))
        .expect("trust accepted");
}

fn reputation(cluster: &Cluster, node: usize) -> Value {
    cluster
        .get(node, &format!("/v1/reputation/{SERVER}"))
        .expect("reputation")
}

fn statements_about_server(cluster: &Cluster, node: usize) -> usize {
    cluster
        .get(node, &format!("/v1/statements/{SERVER}"))
        .ok()
        .and_then(|v| v["statements"].as_array().map(Vec::len))
        .unwrap_or(0)
}

#[test]
fn a_sybil_clique_behind_a_peers_weak_vouch_changes_nothing_and_never_blocks() {
    let root = tempfile::Builder::new()
        .prefix("vouch-small-web")
        .tempdir()
        .expect("temp dir");
    let mut cluster =
        Cluster::create(&vouch_bin(), root.path(), 10, &Engine::Processes).expect("cluster");
    cluster.start().expect("nodes start");
    // Honest: 0 (me) vouches for 1 and 2; 1 vouches for 3. The clique is
    // 4..=9, everyone vouching for everyone; 3 lets key 4 in with weight 10.
    vouch(&cluster, 0, 1, 80);
    vouch(&cluster, 0, 2, 80);
    vouch(&cluster, 1, 3, 80);
    vouch(&cluster, 3, 4, 10);
    for a in 4..10 {
        for b in (4..10).filter(|b| *b != a) {
            vouch(&cluster, a, b, 100);
        }
    }
    for sybil in 4..10 {
        cluster
            .post(
                sybil,
                "/v1/report",
                &json!({"subject": SERVER, "count": 50}),
            )
            .expect("report accepted");
    }
    eventually(60, "node 0 holds the clique's six reports", || {
        statements_about_server(&cluster, 0) == 6
    });
    // Give node 0's trust map a moment to take in the whole clique.
    eventually(10, "node 0 weighs the clique", || {
        reputation(&cluster, 0)["statements"].as_u64() == Some(6)
    });
    let weak = reputation(&cluster, 0);
    assert_eq!(weak["verdict"], "neutral", "{weak}");

    // Node 3 now vouches for the clique in full: still one voice at most.
    vouch(&cluster, 3, 4, 100);
    let before = weak["reported"].as_f64().unwrap_or(0.0);
    eventually(30, "node 0 sees the stronger vouch", || {
        reputation(&cluster, 0)["reported"].as_f64().unwrap_or(0.0) > before
    });
    let strong = reputation(&cluster, 0);
    assert_ne!(strong["verdict"], "block", "{strong}");
    assert!(
        strong["reported"].as_f64().unwrap_or(1.0) <= 0.075 + 1e-9,
        "the branch behind node 1 weighs one voice at most: {strong}"
    );
}
