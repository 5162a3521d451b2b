//! A hostile peer, for `scripts/flood.sh`: joins a node's gossip topic and
//! publishes statements with forged signatures as fast as gossipsub takes
//! them, redialling at once whenever it is disconnected, for SECONDS.
//! Prints what it sent and how often it got in.
//!
//! Run: `cargo run --release -p vouch-node --example flood -- MULTIADDR [SECONDS]`
//! (MULTIADDR ends in `/p2p/<peer id>`).

use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, noise, tcp, yamux};
use vouch_node::{TOPIC, gossip_config, unix_now};
use vouch_protocol::{
    Claim, Evidence, Keypair, ReportCategory, Statement, Subject, VERSION, encode_signed,
};

/// Publishes queued per turn of the event loop while connected.
const BURST: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let target: Multiaddr = args
        .next()
        .ok_or("usage: flood MULTIADDR [SECONDS]")?
        .parse()?;
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(flood(target, Duration::from_secs(seconds)))
}

/// A report whose signature is another key's: decodes and validates, fails
/// verification. Each one different, so gossipsub sends them all.
fn forged(author: &Keypair, forger: &Keypair, n: u64) -> Vec<u8> {
    let now = unix_now();
    let statement = Statement {
        version: VERSION,
        subject: Subject::Ip(std::net::Ipv4Addr::from(0x0a00_0000 | (n as u32 & 0xff_ffff)).into()),
        created_at: now,
        expires_at: now + 86_400,
        claim: Claim::Report {
            category: ReportCategory::Spam,
            count: 1,
            evidence: Evidence::default(),
        },
    };
    let mut signed = forger.sign(statement);
    signed.author = author.public();
    encode_signed(&signed).unwrap_or_default()
}

async fn flood(target: Multiaddr, length: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(
            |_| -> Result<gossipsub::Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                Ok(gossipsub::Behaviour::new(
                    MessageAuthenticity::Anonymous,
                    gossip_config()?,
                )?)
            },
        )?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let topic = IdentTopic::new(TOPIC);
    swarm.behaviour_mut().subscribe(&topic)?;
    let (author, forger) = (
        Keypair::from_secret_bytes([7; 32]),
        Keypair::from_secret_bytes([8; 32]),
    );
    let deadline = Instant::now() + length;
    let (mut sent, mut dials, mut connections, mut refused, mut n) = (0u64, 0u64, 0u64, 0u64, 0);
    let mut joined = false;
    swarm.dial(target.clone())?;
    dials += 1;
    while Instant::now() < deadline {
        if joined {
            for _ in 0..BURST {
                n += 1;
                if swarm
                    .behaviour_mut()
                    .publish(topic.clone(), forged(&author, &forger, n))
                    .is_ok()
                {
                    sent += 1;
                }
            }
        }
        let wait = if joined {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(200)
        };
        let Ok(event) = tokio::time::timeout(wait, swarm.select_next_some()).await else {
            continue;
        };
        match event {
            SwarmEvent::ConnectionEstablished { .. } => connections += 1,
            SwarmEvent::Behaviour(gossipsub::Event::Subscribed { .. }) => joined = true,
            SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            }
            | SwarmEvent::OutgoingConnectionError { .. } => {
                if matches!(event, SwarmEvent::OutgoingConnectionError { .. }) {
                    refused += 1;
                }
                joined = false;
                // Straight back in, as a misbehaving client would.
                if swarm.dial(target.clone()).is_ok() {
                    dials += 1;
                }
            }
            _ => {}
        }
    }
    println!(
        "flood: {sent} forged statements published, {dials} dials, {connections} connections, {refused} dials refused, over {}s",
        length.as_secs()
    );
    Ok(())
}
