//! The Vouch simulator: thousands of simulated operators and attackers,
//! scored by the node's real trust and scoring code (the `vouch-trust` crate),
//! side by side with a shared-blocklist baseline on the same statements.
//! Deterministic: the same seed gives the same tables.
//!
//! [`testnet`] is the other half: real `vouch` processes on loopback, for
//! propagation and delivery over the real network code.

pub mod co_reports;
pub mod eval;
pub mod network;
pub mod output;
pub mod scenarios;
pub mod testnet;
pub mod world;
