//! The Vouch node as a library: storage, the trust and scoring engine, the
//! one ingest path, evidence read from raw messages, the peer-to-peer
//! network, the HTTP API, the mail-server front-ends (Postfix policy
//! server, DNS block/allow lists), configuration and metrics, wired
//! together in [`Node`]. The `vouch` binary is a thin shell around it.
//!
//! Its face is small on purpose: the node, its data directory and
//! settings ([`config`]), the few helpers the binary needs, and the parts
//! the benchmarks drive below the node. Everything else is private; the
//! module tree is the map (docs/ARCHITECTURE.md walks it).
#![deny(missing_docs)]

mod api;
mod clock;
pub mod config;
mod data_dir;
mod evidence;
mod ingest;
mod lookup;
mod metrics;
mod mta;
mod names;
mod node;
mod p2p;
mod store;

#[cfg(test)]
pub(crate) mod test_support;

pub use vouch_trust as trust;

// What the `vouch` binary runs and speaks.
pub use api::{MAX_EXPORT_PAGE, MAX_IMPORT_BYTES, MORE_HEADER, NEXT_HEADER};
pub use config::Config;
pub use data_dir::DataDir;
pub use names::{LABEL as NAME_LABEL, canonical_domain, own_record};
pub use node::{Listeners, Node, NodeError};
pub use p2p::identity::peer_id;
pub use p2p::{PeerName, PeerNameError, parse_peer};

// What the benchmarks drive directly, below the node.
pub use clock::unix_now;
pub use ingest::Ingest;
pub use metrics::Metrics;
pub use p2p::{TOPIC, gossip_config};
pub use store::{Store, Verified};
