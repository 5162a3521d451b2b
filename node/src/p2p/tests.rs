//! Network tests: real nodes (RocksDB, API, swarm) and real libp2p swarms
//! on 127.0.0.1, with bounded waits; every test stops by itself. One file,
//! as the tests share the rogue-peer and waiting helpers.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, noise, tcp, yamux};
use serde_json::json;
use vouch_protocol::{
    Claim, Evidence, Keypair, MAX_STATEMENT_BYTES, ReportCategory, Statement, Subject, VERSION,
    encode_signed,
};

use super::behaviour::{TOPIC, gossip_config};
use super::identity::peer_id;
use crate::clock::unix_now;
use crate::config::Config;
use crate::test_support::TestNode;

/// Polls `check` every 50 ms until it holds or `secs` pass.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {secs}s waiting until {what}");
}

/// Vouches (through the API, as an operator would) for `other`, named by peer id.
async fn trust(node: &TestNode, other: &TestNode) {
    let peer = peer_id(&other.state.signer.public()).expect("peer id");
    node.post_ok(
        "/v1/trust",
        json!({"node": peer.to_string(), "weight": 100}),
    )
    .await;
}

fn stored_about(node: &TestNode, subject: &str) -> usize {
    let subject: Subject = subject.parse().expect("subject");
    node.state.store.about(&subject).expect("store").len()
}

/// A node that dials `bootstrap` first.
async fn node_after(bootstrap: Option<&TestNode>) -> TestNode {
    node_syncing_every(bootstrap, 2).await
}

/// A node that dials `bootstrap` first and back-fills every `secs` seconds.
async fn node_syncing_every(bootstrap: Option<&TestNode>, secs: u64) -> TestNode {
    let addr = bootstrap.and_then(|b| b.p2p.clone());
    TestNode::start(move |config: &mut Config| {
        config.p2p.bootstrap = addr.into_iter().map(|a| a.to_string()).collect();
        config.p2p.sync_interval_secs = secs;
        config.trust.recompute_interval_ms = 100;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_made_at_one_end_of_a_line_reaches_the_other_weighed_by_trust() {
    let mut line: Vec<TestNode> = Vec::new();
    for i in 0..5usize {
        let node = node_after(i.checked_sub(1).map(|j| &line[j])).await;
        line.push(node);
    }
    for pair in line.windows(2) {
        trust(&pair[0], &pair[1]).await;
        trust(&pair[1], &pair[0]).await;
    }
    let (a, e) = (&line[0], &line[4]);
    let a_key = a.state.signer.public();
    eventually(20, "E trusts A through the line", || async {
        e.state.trust.recompute_if_dirty();
        e.state.trust.is_trusted(&a_key)
    })
    .await;

    a.post_ok(
        "/v1/report",
        json!({"subject": "203.0.113.9", "category": "phishing"}),
    )
    .await;
    eventually(10, "the report reaches E", || async {
        stored_about(e, "203.0.113.9") == 1
    })
    .await;

    let on_a = a.get_ok("/v1/reputation/203.0.113.9").await;
    let on_e = e.get_ok("/v1/reputation/203.0.113.9").await;
    let score_a = on_a["score"].as_f64().expect("score");
    let score_e = on_e["score"].as_f64().expect("score");
    let own_weight = a.state.trust.config().max_author_weight;
    let weight_e_in_a = e.state.trust.snapshot().weight(&a_key);
    assert!(
        weight_e_in_a > 0.0 && weight_e_in_a <= own_weight,
        "four hops away, A weighs at most one voice: {weight_e_in_a}"
    );
    assert!(
        (score_a + own_weight).abs() < 1e-3,
        "A's own report counts as one voice: {on_a}"
    );
    assert!(
        (score_e + weight_e_in_a).abs() < 1e-3,
        "E weighs A's report by its trust in A ({weight_e_in_a}): {on_e}"
    );
    for node in line {
        node.stop().await;
    }
}

/// Back-fill pages a node has served, from its metrics.
fn pages_served(node: &TestNode) -> u64 {
    node.metrics()
        .lines()
        .find(|line| line.contains("sync_pages") && line.contains("direction=\"served\""))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_read_from_the_beginning_read_back_once_not_back_and_forth() {
    // No periodic rounds within the test: every round is one an event asked for.
    let a = node_syncing_every(None, 3600).await;
    let b = node_syncing_every(Some(&a), 3600).await;
    eventually(10, "B connects", || async {
        a.get_ok("/v1/status").await["peers_connected"].as_u64() == Some(1)
    })
    .await;
    // Empty stores: each reads the other from the beginning on connecting,
    // and neither has anything to read back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let empty = pages_served(&a) + pages_served(&b);
    assert!(
        empty <= 4,
        "two empty nodes do not read each other back and forth: {empty} pages"
    );
    // B's web grows: it reads A from the beginning, and A reads B back.
    trust(&b, &a).await;
    trust(&a, &b).await;
    eventually(10, "each holds both vouches", || async {
        a.state.store.counts().statements == 2 && b.state.store.counts().statements == 2
    })
    .await;
    let before = pages_served(&a) + pages_served(&b);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = pages_served(&a) + pages_served(&b);
    assert!(
        after - before <= 4,
        "the rounds settle once nothing is new ({before} then {after} pages)"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_back_fills_and_a_restarted_node_keeps_its_data_and_reconnects() {
    let a = node_after(None).await;
    let b = node_after(Some(&a)).await;
    trust(&a, &b).await;
    trust(&b, &a).await;
    for i in 1..=20 {
        a.post_ok("/v1/report", json!({"subject": format!("198.51.100.{i}")}))
            .await;
    }
    eventually(10, "B has A's reports", || async {
        stored_about(&b, "198.51.100.20") == 1
    })
    .await;

    // C arrives after the gossip is over; it knows only B, and reads it
    // three statements a page (a page asked for while the one before is
    // ingested).
    let addr = b.p2p.clone();
    let c = TestNode::start(move |config: &mut Config| {
        config.p2p.bootstrap = addr.into_iter().map(|a| a.to_string()).collect();
        config.p2p.sync_interval_secs = 2;
        config.p2p.sync_page_statements = 3;
        config.trust.recompute_interval_ms = 100;
    })
    .await;
    trust(&c, &b).await;
    eventually(15, "C back-fills A's reports through B", || async {
        (1..=20).all(|i| stored_about(&c, &format!("198.51.100.{i}")) == 1)
    })
    .await;
    let before = c.state.store.counts().statements;

    // Restarted without any bootstrap peer: the saved peer book suffices.
    let c = c
        .restart(|config: &mut Config| {
            config.p2p.sync_interval_secs = 2;
        })
        .await;
    assert_eq!(c.state.store.counts().statements, before, "data kept");
    eventually(15, "C reconnects from its peer book", || async {
        c.get_ok("/v1/status").await["peers_connected"].as_u64() >= Some(1)
    })
    .await;
    // What A says while C is away… and after: C still receives it.
    a.post_ok("/v1/report", json!({"subject": "198.51.100.99"}))
        .await;
    eventually(15, "C receives a new report after restarting", || async {
        stored_about(&c, "198.51.100.99") == 1
    })
    .await;
    for node in [a, b, c] {
        node.stop().await;
    }
}

/// A raw gossipsub swarm speaking the Vouch topic but none of its rules.
async fn rogue(max_transmit: usize) -> Swarm<gossipsub::Behaviour> {
    let mut config = gossip_config().expect("config");
    if max_transmit > config.max_transmit_size() {
        config = gossipsub::ConfigBuilder::from(config)
            .max_transmit_size(max_transmit)
            .build()
            .expect("config");
    }
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| {
            gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config).expect("gossipsub")
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm
        .behaviour_mut()
        .subscribe(&IdentTopic::new(TOPIC))
        .expect("subscribe");
    swarm
}

/// Dials `target` and drives the swarm until the target subscribed to the topic.
async fn join(swarm: &mut Swarm<gossipsub::Behaviour>, target: &Multiaddr, peer: PeerId) {
    swarm.dial(target.clone()).expect("dial");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, .. }) =
                swarm.select_next_some().await
                && peer_id == peer
            {
                return;
            }
        }
    })
    .await
    .expect("the honest node subscribes");
}

/// Drives the swarm for `secs` (so it sends what was published).
async fn drive(swarm: &mut Swarm<gossipsub::Behaviour>, secs: u64) {
    let _ = tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            swarm.select_next_some().await;
        }
    })
    .await;
}

/// A spam report by `author`, encoded as it travels.
pub(crate) fn report_by(
    author: &Keypair,
    subject: &str,
    created_at: u64,
    expires_at: u64,
) -> Vec<u8> {
    encode_signed(&author.sign(Statement {
        version: VERSION,
        subject: subject.parse().expect("subject"),
        created_at,
        expires_at,
        claim: Claim::Report {
            category: ReportCategory::Spam,
            count: 1,
            evidence: Evidence::default(),
        },
    }))
    .expect("encodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_statements_are_never_stored_or_relayed_and_cost_the_sender() {
    let h1 = node_after(None).await;
    let h2 = node_after(Some(&h1)).await;
    trust(&h1, &h2).await;
    trust(&h2, &h1).await;
    eventually(10, "each has the other's trust statement", || async {
        h1.state.trust.edge_count() == 2 && h2.state.trust.edge_count() == 2
    })
    .await;
    let (count1, count2) = (
        h1.state.store.counts().statements,
        h2.state.store.counts().statements,
    );

    let mut rogue = rogue(MAX_STATEMENT_BYTES * 4).await;
    let rogue_id = *rogue.local_peer_id();
    let h1_peer = peer_id(&h1.state.signer.public()).expect("peer id");
    join(&mut rogue, h1.p2p.as_ref().expect("addr"), h1_peer).await;

    // The rogue speaks as H2's operator, whom H1 trusts, so only the
    // statements' own faults can keep them out.
    let now = unix_now();
    let h2_key = &*h2.state.signer;
    let mut forged = report_by(h2_key, "192.0.2.1", now, now + 3600);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let expired = report_by(h2_key, "192.0.2.2", now - 7200, now - 3600);
    let malformed = b"not a statement at all".to_vec();
    let mut oversized = report_by(h2_key, "192.0.2.3", now, now + 3600);
    oversized.resize(MAX_STATEMENT_BYTES * 2, 0);
    let topic = IdentTopic::new(TOPIC);
    for (i, bytes) in [forged, expired, malformed, oversized]
        .into_iter()
        .enumerate()
    {
        for copy in 0..3u8 {
            let mut bytes = bytes.clone();
            if i == 2 {
                bytes.push(copy); // distinct message ids
            }
            let _ = rogue.behaviour_mut().publish(topic.clone(), bytes);
        }
        drive(&mut rogue, 1).await;
    }

    eventually(10, "H1 bans the rogue", || async {
        let peers = h1.get_ok("/v1/peers").await;
        peers["peers"].as_array().expect("peers").iter().any(|p| {
            p["peer_id"] == rogue_id.to_string()
                && p["banned"] == true
                && p["score"].as_f64().is_some_and(|s| s < 0.0)
                && p["invalid_statements"].as_u64() >= Some(3)
        })
    })
    .await;
    for subject in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        assert_eq!(stored_about(&h1, subject), 0, "{subject} stored on H1");
        assert_eq!(stored_about(&h2, subject), 0, "{subject} relayed to H2");
    }
    assert_eq!(h1.state.store.counts().statements, count1);
    assert_eq!(h2.state.store.counts().statements, count2);
    let metrics = h1.metrics();
    assert!(
        metrics.contains("vouch_peer_bans_total{reason=\"invalid_statements\"}"),
        "{metrics}"
    );
    // The honest node still answers.
    let answer = h1.get_ok("/v1/reputation/192.0.2.1").await;
    assert_eq!(answer["verdict"], "neutral", "{answer}");
    h1.stop().await;
    h2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_unvouched_keys_stays_within_the_stranger_quota() {
    let honest = TestNode::start(|config: &mut Config| {
        config.p2p.stranger_quota_per_author = 2;
        config.p2p.stranger_quota_total = 300;
    })
    .await;
    let before = honest.state.store.counts().statements;
    let mut rogue = rogue(0).await;
    let peer = peer_id(&honest.state.signer.public()).expect("peer id");
    join(&mut rogue, honest.p2p.as_ref().expect("addr"), peer).await;

    let now = unix_now();
    let topic = IdentTopic::new(TOPIC);
    for k in 0..1000u32 {
        let mut secret = [0u8; 32];
        secret[..4].copy_from_slice(&k.to_be_bytes());
        secret[31] = 0x5a;
        let key = Keypair::from_secret_bytes(secret);
        for s in 0..3u32 {
            let subject = format!("10.{}.{}.{}", k / 256, k % 256, s);
            let _ = rogue
                .behaviour_mut()
                .publish(topic.clone(), report_by(&key, &subject, now, now + 3600));
        }
        if k % 100 == 99 {
            drive(&mut rogue, 0).await;
            tokio::task::yield_now().await;
        }
    }
    drive(&mut rogue, 3).await;
    eventually(20, "the honest node has judged the flood", || async {
        honest
            .metrics()
            .contains("vouch_ingested_total{outcome=\"over_quota\"}")
            && honest.state.store.counts().strangers == 300
    })
    .await;
    let counts = honest.state.store.counts();
    assert_eq!(counts.statements - before, 300, "grew by exactly the quota");
    // Relayed to nobody: strangers' statements are never accepted for relay.
    assert!(
        !honest
            .metrics()
            .contains("vouch_gossip_messages_total{verdict=\"accept\"}")
    );
    honest.stop().await;
}

#[tokio::test]
async fn the_network_actor_stops_when_every_handle_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(crate::store::Store::open(dir.path()).expect("store"));
    let keypair = Keypair::from_secret_bytes([4; 32]);
    let trust = std::sync::Arc::new(crate::trust::TrustEngine::new(
        keypair.public(),
        Default::default(),
    ));
    let metrics = crate::metrics::Metrics::default();
    let ingest = std::sync::Arc::new(crate::ingest::Ingest::new(
        store.clone(),
        trust,
        metrics.clone(),
    ));
    let config = super::Config {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        ..Default::default()
    };
    let (network, handle) =
        super::Network::new(config, &keypair, store, ingest, metrics).expect("network");
    let running = network.bind().expect("bind");
    let (_keep, shutdown) = tokio::sync::watch::channel(false);
    let actor = tokio::spawn(running.run(shutdown));
    assert!(handle.peers().await.expect("running").is_empty());
    drop(handle);
    tokio::time::timeout(Duration::from_secs(5), actor)
        .await
        .expect("the actor ends")
        .expect("join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_invalid_gossip_is_charged_once_so_two_cost_forty_and_three_ban() {
    let h1 = node_after(None).await;
    let mut rogue = rogue(MAX_STATEMENT_BYTES).await;
    let rogue_id = *rogue.local_peer_id();
    let h1_peer = peer_id(&h1.state.signer.public()).expect("peer id");
    join(&mut rogue, h1.p2p.as_ref().expect("addr"), h1_peer).await;
    let topic = IdentTopic::new(TOPIC);
    let author = Keypair::from_secret_bytes([9; 32]);
    let now = unix_now();
    let forged = |n: u8| {
        let mut bytes = report_by(&author, &format!("192.0.2.{n}"), now, now + 3600);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        bytes
    };
    let score = || async {
        let peers = h1.get_ok("/v1/peers").await;
        peers["peers"]
            .as_array()
            .expect("peers")
            .iter()
            .find(|p| p["peer_id"] == rogue_id.to_string())
            .map(|p| (p["score"].as_f64().unwrap_or(0.0), p["banned"] == true))
    };
    for n in 1..=2 {
        let _ = rogue.behaviour_mut().publish(topic.clone(), forged(n));
        drive(&mut rogue, 1).await;
    }
    eventually(10, "two invalid statements are counted", || async {
        let peers = h1.get_ok("/v1/peers").await;
        peers["peers"].as_array().expect("peers").iter().any(|p| {
            p["peer_id"] == rogue_id.to_string() && p["invalid_statements"].as_u64() == Some(2)
        })
    })
    .await;
    let (two, banned) = score().await.expect("the rogue is known");
    assert!(!banned, "two invalid statements do not ban");
    // P4 alone: −10 × 2² (plus a little time in mesh); counted twice it was −60.
    assert!((-45.0..=-35.0).contains(&two), "score after two: {two}");
    let _ = rogue.behaviour_mut().publish(topic.clone(), forged(3));
    drive(&mut rogue, 1).await;
    eventually(10, "the third bans the rogue", || async {
        score().await.is_some_and(|(_, banned)| banned)
    })
    .await;
    h1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_peer_redialling_is_refused_before_the_handshake() {
    // Loopback is exempt by default; here the rogue's 127.0.0.1 is not.
    let h1 = TestNode::start(|config: &mut Config| config.p2p.exempt_loopback = false).await;
    let h1_addr = h1.p2p.clone().expect("addr");
    let mut rogue = rogue(MAX_STATEMENT_BYTES).await;
    let h1_peer = peer_id(&h1.state.signer.public()).expect("peer id");
    join(&mut rogue, &h1_addr, h1_peer).await;
    let topic = IdentTopic::new(TOPIC);
    let author = Keypair::from_secret_bytes([9; 32]);
    let now = unix_now();
    for n in 1..=3u8 {
        let mut bytes = report_by(&author, &format!("192.0.2.{n}"), now, now + 3600);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let _ = rogue.behaviour_mut().publish(topic.clone(), bytes);
        drive(&mut rogue, 1).await;
    }
    eventually(10, "H1 bans the rogue", || async {
        h1.metrics().contains("vouch_peer_bans_total")
    })
    .await;
    // The rogue dials again: refused before noise, so it never connects.
    drive(&mut rogue, 1).await;
    rogue.dial(h1_addr.clone()).expect("dial");
    let connected = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rogue.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == h1_peer => {
                    return true;
                }
                SwarmEvent::OutgoingConnectionError { .. } => return false,
                SwarmEvent::ConnectionClosed { peer_id, .. } if peer_id == h1_peer => {
                    return false;
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(!connected, "a banned address must not complete a handshake");
    eventually(10, "the refusal is counted", || async {
        h1.metrics()
            .contains("vouch_peer_refusals_total{reason=\"banned\"}")
    })
    .await;
    h1.stop().await;
}
