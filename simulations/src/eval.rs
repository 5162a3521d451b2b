//! Verdicts as Vouch gives them (the node's own scoring code, from one
//! honest operator's point of view) and as a shared blocklist gives them
//! (count reports, trust nobody).

use std::collections::HashSet;

use vouch_node::trust::{
    self, Entry, Evidence, TrustGraph, TrustMap, Verdict, is_endorsed_forwarder, personalised_rank,
};
use vouch_protocol::{Claim, NodeKey, Subject};

use crate::world::{HOUR, Index};

/// One honest operator's view: its personalised trust in every author.
pub struct Viewer {
    /// The operator.
    pub key: NodeKey,
    /// Its trust map, computed by the node's engine.
    pub trust: TrustMap,
}

/// Computes every viewer's trust map over the index's trust graph.
pub fn viewers(index: &Index, keys: &[NodeKey], config: &trust::Config) -> Vec<Viewer> {
    let mut graph = TrustGraph::default();
    for statement in &index.trust {
        graph.apply(statement);
    }
    keys.iter()
        .map(|key| Viewer {
            key: *key,
            trust: personalised_rank(&graph, *key, config.rank_params()),
        })
        .collect()
}

/// Vouch's verdict on `subject` from `viewer`'s point of view, the way the
/// node's lookup computes it.
pub fn vouch(
    viewer: &Viewer,
    index: &Index,
    subject: &Subject,
    now: u64,
    config: &trust::Config,
) -> Verdict {
    let relayed: Vec<Entry> = index
        .relayed_from(subject)
        .iter()
        .filter(|(_, report)| {
            is_endorsed_forwarder(
                index.about(&report.body.subject),
                &viewer.trust,
                now,
                config,
            )
        })
        .cloned()
        .collect();
    let evidence = Evidence {
        exact: index.about(subject),
        netblock: index.netblock(subject),
        relayed: &relayed,
    };
    trust::reputation(subject, &evidence, &viewer.trust, now, config).verdict
}

/// A shared blocklist: lists a subject once `k` distinct reporters reported
/// it within the window (72 h: most entries are lifted 72 hours after the
/// last incident), and escalates to the whole /24 once `netblock_ips`
/// addresses in it are listed. It knows nothing of trust, endorsements,
/// forwarders or remediation.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    /// Distinct reporters needed to list.
    pub k: usize,
    /// How long a report keeps a listing alive.
    pub window: u64,
    /// Listed addresses in a /24 that get the whole /24 listed.
    pub netblock_ips: usize,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline {
            k: 3,
            window: 72 * HOUR,
            netblock_ips: 3,
        }
    }
}

impl Baseline {
    fn listed_exact(&self, entries: &[Entry], subject: &Subject, now: u64) -> bool {
        let reporters: HashSet<&NodeKey> = entries
            .iter()
            .filter(|(_, s)| {
                &s.body.subject == subject
                    && matches!(s.body.claim, Claim::Report { .. })
                    && s.body.created_at + self.window > now
            })
            .map(|(_, s)| &s.author)
            .collect();
        reporters.len() >= self.k
    }

    /// Whether the blocklist lists (blocks) `subject`.
    pub fn listed(&self, index: &Index, subject: &Subject, now: u64) -> bool {
        if self.listed_exact(index.about(subject), subject, now) {
            return true;
        }
        let neighbours: HashSet<&Subject> = index
            .netblock(subject)
            .iter()
            .map(|(_, s)| &s.body.subject)
            .filter(|s| matches!(s, Subject::Ip(_)))
            .collect();
        let listed = neighbours
            .into_iter()
            .filter(|n| self.listed_exact(index.about(n), n, now))
            .count();
        listed >= self.netblock_ips
    }
}
