//! Answering "how much should I trust this sender, and why?": read what the
//! store holds about a subject and score it with the current trust map.
//! Every front-end (the HTTP API, and the mail-server front-ends) asks here.

use std::collections::HashMap;
use std::sync::Arc;

use vouch_protocol::{StatementId, Subject};

use crate::metrics::Metrics;
use crate::names::NameBook;
use crate::store::{self, Store, Stored};
use crate::trust::{Evidence, Reputation, TrustEngine};

/// A cheap, cloneable handle for reputation lookups.
#[derive(Clone)]
pub struct Reputations {
    store: Arc<Store>,
    trust: Arc<TrustEngine>,
    metrics: Metrics,
    names: Arc<NameBook>,
}

impl Reputations {
    /// Lookups over `store`, scored by `trust`, counted in `metrics`,
    /// authors named from `names`.
    pub fn new(
        store: Arc<Store>,
        trust: Arc<TrustEngine>,
        metrics: Metrics,
        names: Arc<NameBook>,
    ) -> Self {
        Reputations {
            store,
            trust,
            metrics,
            names,
        }
    }

    /// Scores one subject at time `now`. Blocking (reads RocksDB); never
    /// walks the trust graph.
    pub fn lookup(&self, subject: &Subject, now: u64) -> Result<Reputation, store::Error> {
        let about = self.store.about(subject)?;
        let (netblock, relayed) = match subject {
            Subject::Ip(_) => (
                pairs(self.store.in_netblock(subject)?),
                self.relayed_through_forwarders(subject, now)?,
            ),
            _ => (Vec::new(), Vec::new()),
        };
        let mut first_reported: Vec<(StatementId, u64)> = about
            .iter()
            .chain(&relayed)
            .filter_map(|s| Some((s.id, s.first_reported?)))
            .collect();
        first_reported.sort_unstable_by_key(|(id, _)| *id);
        let evidence = Evidence {
            exact: &pairs(about),
            netblock: &netblock,
            relayed: &pairs(relayed),
            first_reported: &first_reported,
        };
        let mut reputation = self.trust.reputation(subject, &evidence, now);
        for item in &mut reputation.explanation {
            if let Ok(author) = item.author.parse::<vouch_protocol::NodeKey>() {
                item.author_name = self.names.name_of(&author).map(|n| n.to_string());
            }
        }
        self.metrics.lookup(reputation.verdict.as_str());
        Ok(reputation)
    }
}

impl Reputations {
    /// Reports naming `origin` as the source of relayed mail, kept only
    /// when the host that relayed it is an endorsed forwarder (each distinct
    /// forwarder is looked up once).
    fn relayed_through_forwarders(
        &self,
        origin: &Subject,
        now: u64,
    ) -> Result<Vec<Stored>, store::Error> {
        let mut forwarders: HashMap<Subject, bool> = HashMap::new();
        let mut kept = Vec::new();
        for report in self.store.relayed_from(origin)? {
            let host = report.statement.body.subject.clone();
            let endorsed = match forwarders.get(&host) {
                Some(known) => *known,
                None => {
                    let about = pairs(self.store.about(&host)?);
                    let endorsed = self.trust.is_endorsed_forwarder(&about, now);
                    forwarders.insert(host, endorsed);
                    endorsed
                }
            };
            if endorsed {
                kept.push(report);
            }
        }
        Ok(kept)
    }
}

fn pairs(stored: Vec<Stored>) -> Vec<(StatementId, vouch_protocol::SignedStatement)> {
    stored.into_iter().map(|s| (s.id, s.statement)).collect()
}
