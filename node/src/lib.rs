//! The Vouch node as a library: storage, the trust and scoring engine, the
//! one ingest path, evidence read from raw messages, the peer-to-peer network, the HTTP API, the mail-server
//! front-ends (Postfix policy server, DNS block/allow lists), configuration
//! and metrics. The `vouch`
//! binary is a thin shell around [`Node`].
#![deny(missing_docs)]

pub mod api;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod evidence;
pub mod ingest;
pub mod lookup;
pub mod metrics;
pub mod mta;
pub mod names;
mod node;
pub mod p2p;
pub mod store;

#[cfg(test)]
pub(crate) mod test_node;

/// The trust and scoring engine (the `vouch-trust` crate), under the name
/// the node's modules use.
pub use vouch_trust as trust;

pub use config::Config;
pub use data_dir::DataDir;
pub use node::{Listeners, Node, NodeError};
