//! Answering "how much should I trust this sender, and why?": read what the
//! store holds about a subject and score it with the current trust map.
//! Every front-end (the HTTP API, and the mail-server front-ends) asks here.

use std::collections::HashMap;
use std::sync::Arc;

use vouch_protocol::{StatementId, Subject};

use crate::metrics::Metrics;
use crate::names::NameBook;
use crate::store::{self, Store, Stored};
use crate::trust::{Reputation, SubjectEvidence, TrustEngine};

/// Most distinct relaying hosts checked for a forwarder endorsement in one
/// lookup.
pub const MAX_FORWARDERS_PER_LOOKUP: usize = 32;

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
        let evidence = SubjectEvidence {
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
                // Peers' reports choose the hosts: each costs a scan, so
                // only so many are looked at.
                None if forwarders.len() >= MAX_FORWARDERS_PER_LOOKUP => continue,
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

#[cfg(test)]
mod tests {
    use vouch_protocol::{Claim, EndorseCategory, Evidence, ReportCategory};

    use super::MAX_FORWARDERS_PER_LOOKUP;
    use crate::clock::unix_now;
    use crate::test_support::{TestNode, peer};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reports_through_many_forwarders_are_checked_a_bounded_number_of_hosts_at_a_time() {
        let node = TestNode::start(|config| config.p2p.enabled = false).await;
        let reporter = peer(1);
        node.trust(&reporter);
        let origin = "198.51.100.7";
        let hosts = MAX_FORWARDERS_PER_LOOKUP + 8;
        for n in 0..hosts {
            let host = format!("203.0.113.{}", n + 1);
            node.endorse_mine(&host, EndorseCategory::Forwarder);
            let claim = Claim::Report {
                category: ReportCategory::Spam,
                count: 1,
                evidence: Evidence {
                    message_hashes: Vec::new(),
                    relay_chain: vec![origin.parse().expect("ip")],
                },
            };
            node.submit(&reporter, host.parse().expect("subject"), claim, 60);
        }
        node.state.trust.recompute_if_dirty();
        let reputation = node
            .state
            .reputations
            .lookup(&origin.parse().expect("subject"), unix_now())
            .expect("lookup");
        assert_eq!(reputation.statements, MAX_FORWARDERS_PER_LOOKUP);
        node.stop().await;
    }
}
