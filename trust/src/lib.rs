//! The trust and scoring engine.
//!
//! Pure: it takes statements in and answers queries, and depends on neither
//! the store nor the network (its only dependencies are `vouch-protocol`,
//! serde and thiserror), so the simulator runs exactly the code the node
//! runs. The expensive part, personalised trust over the whole graph, is
//! recomputed when the graph changed (the node calls
//! [`TrustEngine::recompute_if_dirty`] on a timer); lookups only read the
//! last result and never walk the graph.
#![deny(missing_docs)]

mod branches;
mod config;
mod explain;
mod fresh;
mod graph;
mod independence;
mod neighbourhood;
mod rank;
mod said;
mod score;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use vouch_protocol::{NodeKey, SignedStatement, Subject};

/// A map keyed by node keys or subjects with a fast hasher, seeded per
/// process (the keys in the engine's maps come through the web of trust).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub use config::{Config, InvalidSetting, Thresholds};
pub use explain::{Category, Contribution, Via};
pub use graph::TrustGraph;
pub use independence::{CoReports, MAX_COMPARED_WITNESSES, Reporting, Shared, shared_by_pairs};
pub use neighbourhood::Neighbourhood;
pub use rank::{RankParams, TrustMap, WEAK_VOUCH, personalised_rank};
pub use said::{Said, SaidClaim};
pub use score::{
    Reputation, Signal, SubjectEvidence, Verdict, decay, forwarder_mass, is_endorsed_forwarder,
    reputation,
};

/// The engine as the node uses it: a trust graph fed by accepted trust
/// statements, and the last computed trust map, shared with lookups.
pub struct TrustEngine {
    root: NodeKey,
    config: Config,
    /// Shared with a recomputation in progress, copied on write only if
    /// an edge changes meanwhile.
    graph: Mutex<Arc<TrustGraph>>,
    dirty: AtomicBool,
    /// Set when a recompute reached an author the previous map did not.
    grown: AtomicBool,
    current: RwLock<Arc<TrustMap>>,
}

impl TrustEngine {
    /// An engine seeing the world from `root` (the local node's key).
    pub fn new(root: NodeKey, config: Config) -> Self {
        let engine = TrustEngine {
            root,
            config,
            graph: Mutex::new(Arc::new(TrustGraph::default())),
            dirty: AtomicBool::new(true),
            grown: AtomicBool::new(false),
            current: RwLock::new(Arc::new(TrustMap::default())),
        };
        engine.recompute_if_dirty();
        engine
    }

    /// The engine's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds a statement that won its slot in the store (trust statements
    /// change the graph; everything else is ignored).
    pub fn apply(&self, statement: &SignedStatement) {
        if let Some((from, to, weight)) = graph::edge_of(statement) {
            self.set_edge(from, to, weight);
        }
    }

    fn set_edge(&self, from: NodeKey, to: NodeKey, weight: u8) {
        let mut graph = self.graph.lock().unwrap_or_else(PoisonError::into_inner);
        let current = if from == to {
            weight
        } else {
            graph.weight(&from, &to)
        };
        if current != weight && Arc::make_mut(&mut graph).set(from, to, weight) {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Drops the edge of an expired trust statement (if it still holds its slot).
    pub fn remove_expired(&self, statement: &SignedStatement) {
        if let (Subject::Node(to), vouch_protocol::Claim::Trust { .. }) =
            (&statement.body.subject, &statement.body.claim)
        {
            self.set_edge(statement.author, *to, 0);
        }
    }

    /// Recomputes trust if the graph changed since the last time; returns
    /// how long it took, or `None` when nothing had changed.
    pub fn recompute_if_dirty(&self) -> Option<Duration> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return None;
        }
        let started = Instant::now();
        let graph = Arc::clone(&self.graph.lock().unwrap_or_else(PoisonError::into_inner));
        let map = personalised_rank(&graph, self.root, self.config.rank_params());
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if map.reaches_beyond(&current) {
            self.grown.store(true, Ordering::Release);
        }
        *current = Arc::new(map);
        Some(started.elapsed())
    }

    /// Whether the web of trust reached new authors since the last call,
    /// whoever recomputed it (the node's timer, an operator's vouch, a
    /// back-fill page bringing trust statements): statements by those
    /// authors that were refused before must be fetched again.
    pub fn take_growth(&self) -> bool {
        self.grown.swap(false, Ordering::AcqRel)
    }

    /// The last computed trust map.
    pub fn snapshot(&self) -> Arc<TrustMap> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether `author` is inside this node's web of trust: the node itself,
    /// or an author the trust walk reaches at all (within `walk_steps`
    /// vouches). Such authors' statements are kept and relayed even when
    /// their weight in a verdict is negligible; unvouched keys have exactly 0.
    pub fn is_trusted(&self, author: &NodeKey) -> bool {
        *author == self.root || self.snapshot().get(author) > 0.0
    }

    /// Number of trust edges in the graph.
    pub fn edge_count(&self) -> usize {
        self.graph
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .edge_count()
    }

    /// Scores a subject from the evidence the store holds about it.
    pub fn reputation(
        &self,
        subject: &Subject,
        evidence: &SubjectEvidence,
        now: u64,
    ) -> Reputation {
        reputation(subject, evidence, &self.snapshot(), now, &self.config)
    }

    /// Whether trusted operators endorse a host (given the statements about
    /// it) as a forwarder.
    pub fn is_endorsed_forwarder(&self, about: &[Said], now: u64) -> bool {
        is_endorsed_forwarder(about, &self.snapshot(), now, &self.config)
    }
}

#[cfg(test)]
mod tests;
