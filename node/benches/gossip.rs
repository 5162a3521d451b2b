//! Sustained ingest from gossip: a publisher swarm on loopback floods one
//! real node (RocksDB, swarm, worker) with valid statements by authors in
//! its web of trust, and the bench prints statements stored per second.
//! The per-peer rate limit is lifted for the measurement (its default,
//! 500/s with a burst of 5,000, is a policy, not a capacity).
//!
//! Run: `cargo bench -p vouch-node --bench gossip`

use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::swarm::SwarmEvent;
use libp2p::{Swarm, noise, tcp, yamux};
use vouch_node::{Config, DataDir, Node, TOPIC, gossip_config, unix_now};
use vouch_protocol::{
    Claim, Evidence, Keypair, ReportCategory, Statement, Subject, VERSION, encode_signed,
};

const STATEMENTS: usize = 20_000;
const AUTHORS: u8 = 64;

fn author(i: u8) -> Keypair {
    Keypair::from_secret_bytes([i; 32])
}

fn publisher() -> Swarm<gossipsub::Behaviour> {
    let config = gossip_config().expect("gossip config");
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
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

async fn drive(swarm: &mut Swarm<gossipsub::Behaviour>, for_ms: u64) {
    let _ = tokio::time::timeout(Duration::from_millis(for_ms), async {
        loop {
            swarm.select_next_some().await;
        }
    })
    .await;
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = DataDir::new(dir.path());
    let me = data_dir.init().expect("init");
    let mut config = Config::default();
    config.api.listen = "127.0.0.1:0".parse().expect("addr");
    config.policy.enabled = false;
    config.dnsbl.enabled = false;
    config.p2p.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    config.p2p.messages_per_sec = 1e9;
    config.p2p.message_burst = 1e9;
    let token = data_dir.token().expect("token");
    let mut node = Node::open_with(&data_dir, config, me, token).expect("open node");
    let state = node.state().clone();
    let now = unix_now();
    let vouches = (0..AUTHORS)
        .map(|i| {
            state.signer.sign(Statement {
                version: VERSION,
                subject: Subject::Node(author(i).public()),
                created_at: now,
                expires_at: now + 86_400,
                claim: Claim::Trust { weight: 50 },
            })
        })
        .collect();
    state.ingest.submit(vouches, now).expect("trust");
    state.trust.recompute_if_dirty();
    let listeners = node.bind().await.expect("bind");
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(node.serve(listeners, async move {
        let _ = stopped.await;
    }));
    let mut addr = None;
    for _ in 0..100 {
        addr = state.p2p.listen_addrs().await.expect("network").pop();
        if addr.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let addr = addr.expect("node listens");

    let statements: Vec<Vec<u8>> = (0..STATEMENTS)
        .map(|i| {
            let subject = std::net::Ipv4Addr::from(0x0a00_0000u32 + i as u32).into();
            encode_signed(&author((i % AUTHORS as usize) as u8).sign(Statement {
                version: VERSION,
                subject,
                created_at: now,
                expires_at: now + 86_400,
                claim: Claim::Report {
                    category: ReportCategory::Spam,
                    count: 1,
                    evidence: Evidence::default(),
                },
            }))
            .expect("encodes")
        })
        .collect();

    let mut swarm = publisher();
    swarm.dial(addr).expect("dial");
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { .. }) =
                swarm.select_next_some().await
            {
                return;
            }
        }
    })
    .await
    .expect("node subscribes");

    let before = state.store.counts().statements;
    let topic = IdentTopic::new(TOPIC);
    let started = Instant::now();
    let mut pending = statements.into_iter().peekable();
    while pending.peek().is_some() {
        for _ in 0..500 {
            let Some(bytes) = pending.next() else { break };
            // Queue full: let it drain, then try again (a few times).
            for _ in 0..20 {
                if swarm
                    .behaviour_mut()
                    .publish(topic.clone(), bytes.clone())
                    .is_ok()
                {
                    break;
                }
                drive(&mut swarm, 20).await;
            }
        }
        drive(&mut swarm, 5).await;
    }
    // Until everything is stored, or nothing more arrives for 5 s (the
    // node sheds what its ingest queue cannot hold; peers back-fill it).
    let mut stored = 0;
    let mut last_growth = Instant::now();
    while last_growth.elapsed() < Duration::from_secs(5) {
        let now_stored = state.store.counts().statements - before;
        if now_stored > stored {
            stored = now_stored;
            last_growth = Instant::now();
        }
        if stored as usize >= STATEMENTS {
            break;
        }
        drive(&mut swarm, 10).await;
    }
    let took = last_growth.duration_since(started);
    println!(
        "gossip ingest: {stored} of {STATEMENTS} statements stored in {:.2}s = {:.0} statements/s \
         (one peer, decode + validate + admit + batch verify + RocksDB)",
        took.as_secs_f64(),
        stored as f64 / took.as_secs_f64()
    );
}
