//! The peer-to-peer network: nodes gossip signed statements over libp2p,
//! discover each other, and back-fill what they missed.
//!
//! * Identity: the node's ed25519 statement key is its libp2p key, so a
//!   peer id names an author ([`identity`]).
//! * Transport: TCP with noise and yamux; identify, ping, Kademlia (a
//!   private DHT) for discovery, mDNS when configured.
//! * Gossip: one topic; message id = statement id; each message is held
//!   until the one ingest path has judged it, then accepted (relayed),
//!   ignored, or rejected (never relayed, and the sender penalised by
//!   gossipsub peer scoring; `behaviour.rs`).
//! * Admission: statements from authors outside the web of trust are kept
//!   only under the stranger quota and never relayed.
//! * Back-fill: a request-response protocol over the peer's ingest
//!   sequence ([`sync`]), in rounds per peer (`backfill.rs`).
//! * Limits per peer: message and request rates, connection counts,
//!   response sizes; abusive peers are disconnected and banned
//!   ([`limits`], the table in `peers.rs`), before the handshake when they
//!   redial (`ip_gate.rs`).
//! * Other implementations: a peer is whatever speaks these protocols;
//!   identify's strings are self-asserted and never checked, and every
//!   peer's statements and behaviour are judged the same way.
//!
//! The swarm lives in one actor ([`Running`]) behind a cloneable [`Handle`].

mod backfill;
mod behaviour;
mod config;
mod handle;
pub mod identity;
mod ip_gate;
pub mod limits;
mod network;
mod peer_book;
mod peers;
mod swarm;
pub mod sync;
mod worker;

pub use backfill::Start;
pub use behaviour::{TOPIC, gossip_config};
pub use config::Config;
pub use handle::{Handle, PeerInfo};
pub use identity::{PeerName, PeerNameError, parse_peer};
pub use network::{Network, Running};

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is invalid.
    #[error("invalid p2p setting: {0}")]
    Config(#[from] crate::config::SettingError),
    /// The node key cannot be a libp2p key.
    #[error("node key: {0}")]
    Key(#[from] libp2p::identity::DecodingError),
    /// The transport or behaviour could not be built.
    #[error("p2p transport: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: libp2p::Multiaddr,
        /// Why not.
        source: libp2p::TransportError<std::io::Error>,
    },
}

#[cfg(test)]
pub(crate) mod tests;
