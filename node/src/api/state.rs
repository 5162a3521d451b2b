//! What handlers share: handles to the node's parts, not one big lock.

use std::sync::Arc;

use vouch_protocol::Keypair;

use super::bounds::Bounds;

use crate::evidence::Intake;
use crate::ingest::Ingest;
use crate::lookup::Reputations;
use crate::metrics::Metrics;
use crate::names::Names;
use crate::p2p;
use crate::store::Store;
use crate::trust::TrustEngine;

/// The API's state: one reference-counted handle to the node's parts,
/// since axum clones the state for every request.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    /// The state holding `parts`.
    pub fn new(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What handlers share; every field is a handle of its own.
pub struct AppParts {
    /// The statement store.
    pub store: Arc<Store>,
    /// The trust engine.
    pub trust: Arc<TrustEngine>,
    /// Reputation lookups.
    pub reputations: Reputations,
    /// The ingest path, for the operator's own statements.
    pub ingest: Arc<Ingest>,
    /// The network (a handle that answers `Stopped` when it is disabled).
    pub p2p: p2p::Handle,
    /// The node's key, which signs the operator's statements.
    pub signer: Arc<Keypair>,
    /// The bearer token write calls must carry.
    pub token: Arc<str>,
    /// Operators' names: pins, claims, the resolver.
    pub names: Arc<Names>,
    /// How raw messages handed over as evidence are read.
    pub intake: Arc<Intake>,
    /// Metrics.
    pub metrics: Metrics,
    /// Every request's bounds in time and in number at once.
    pub bounds: Bounds,
    /// Most subjects in one batch lookup.
    pub max_batch: usize,
    /// Unix time the node started.
    pub started_at: u64,
}
