//! Answering "how much should I trust this sender, and why?": read what the
//! store holds about a subject and score it with the current trust map.
//! Every front-end (the HTTP API, and the mail-server front-ends) asks here.

use std::sync::Arc;

use vouch_protocol::Subject;

use crate::metrics::Metrics;
use crate::store::{self, Store, Stored};
use crate::trust::{Reputation, TrustEngine};

/// A cheap, cloneable handle for reputation lookups.
#[derive(Clone)]
pub struct Reputations {
    store: Arc<Store>,
    trust: Arc<TrustEngine>,
    metrics: Metrics,
}

impl Reputations {
    /// Lookups over `store`, scored by `trust`, counted in `metrics`.
    pub fn new(store: Arc<Store>, trust: Arc<TrustEngine>, metrics: Metrics) -> Self {
        Reputations {
            store,
            trust,
            metrics,
        }
    }

    /// Scores one subject at time `now`. Blocking (reads RocksDB); never
    /// walks the trust graph.
    pub fn lookup(&self, subject: &Subject, now: u64) -> Result<Reputation, store::Error> {
        let exact = pairs(self.store.about(subject)?);
        let netblock = match subject {
            Subject::Ip(_) => pairs(self.store.in_netblock(subject)?),
            _ => Vec::new(),
        };
        let reputation = self.trust.reputation(subject, &exact, &netblock, now);
        self.metrics.lookup(reputation.verdict.as_str());
        Ok(reputation)
    }
}

fn pairs(
    stored: Vec<Stored>,
) -> Vec<(vouch_protocol::StatementId, vouch_protocol::SignedStatement)> {
    stored.into_iter().map(|s| (s.id, s.statement)).collect()
}
