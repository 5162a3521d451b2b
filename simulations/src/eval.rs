//! Verdicts as Vouch gives them (the engine's own scoring code, from one
//! honest operator's point of view) and as the two baselines give them: a
//! SpamCop-style list (time-weighted report count, trusting nobody) and a
//! global trust-weighted count (one EigenTrust-style trust vector for
//! everyone).

use std::collections::HashMap;

use vouch_protocol::{Claim, NodeKey, Subject};
use vouch_trust::{
    self as trust, Said, SubjectEvidence, TrustGraph, TrustMap, Verdict, is_endorsed_forwarder,
    personalised_rank,
};

use crate::co_reports::CoReportsAt;
use crate::world::{HOUR, Timeline, said};

/// One honest operator's view: its personalised trust in every author.
pub struct Viewer {
    /// The operator.
    pub key: NodeKey,
    /// Its trust map, computed by the engine.
    pub trust: TrustMap,
}

/// The trust graph of the statements live at `at`.
pub fn graph(timeline: &Timeline, at: u64) -> TrustGraph {
    let mut graph = TrustGraph::default();
    for (_, statement) in timeline.trust(at) {
        graph.apply(&statement);
    }
    graph
}

/// Computes every viewer's trust map over the trust graph live at `at`.
pub fn viewers(
    timeline: &Timeline,
    at: u64,
    keys: &[NodeKey],
    config: &trust::Config,
) -> Vec<Viewer> {
    let graph = graph(timeline, at);
    keys.iter()
        .map(|key| Viewer {
            key: *key,
            trust: personalised_rank(&graph, *key, config.rank_params()),
        })
        .collect()
}

/// What the store holds about a subject at one moment, gathered once and
/// judged from many points of view.
pub struct Snapshot<'a> {
    /// The subject.
    pub subject: &'a Subject,
    /// The moment.
    pub at: u64,
    /// Statements about the subject itself, renewed reports dated from
    /// their slot's first report.
    exact: Vec<Said>,
    netblock: Vec<Said>,
    /// Reports naming the subject as the origin of relayed mail, each with
    /// the statements about the host that relayed it.
    relayed: Vec<(Said, Vec<Said>)>,
    co_reports: CoReportsAt<'a>,
}

impl<'a> Snapshot<'a> {
    /// Gathers what a node's store would hold about `subject` at `at`.
    pub fn take(timeline: &'a Timeline, subject: &'a Subject, at: u64) -> Snapshot<'a> {
        let relayed = timeline
            .relayed_from(subject, at)
            .into_iter()
            .filter_map(|(id, report)| {
                let about = said(&timeline.about(&report.body.subject, at));
                Some((Said::of(id, &report, None)?, about))
            })
            .collect();
        Snapshot {
            subject,
            at,
            exact: timeline.about_held(subject, at).said(),
            netblock: said(&timeline.netblock(subject, at)),
            relayed,
            co_reports: timeline.co_reports(at),
        }
    }

    /// Whether nothing bears on the subject but endorsements (then no
    /// viewer can do anything but allow or stay neutral).
    pub fn unreported(&self) -> bool {
        self.relayed.is_empty() && !self.exact.iter().chain(&self.netblock).any(Said::is_report)
    }

    /// The reputation `viewer` computes, the way the node's lookup does.
    pub fn reputation(&self, viewer: &Viewer, config: &trust::Config) -> trust::Reputation {
        let relayed: Vec<Said> = self
            .relayed
            .iter()
            .filter(|(_, about)| is_endorsed_forwarder(about, &viewer.trust, self.at, config))
            .map(|(report, _)| report.clone())
            .collect();
        let evidence = SubjectEvidence {
            exact: &self.exact,
            netblock: &self.netblock,
            relayed: &relayed,
            neighbourhood: None,
            co_reports: Some(&self.co_reports),
        };
        trust::reputation(self.subject, &evidence, &viewer.trust, self.at, config)
    }

    /// `viewer`'s verdict.
    pub fn verdict(&self, viewer: &Viewer, config: &trust::Config) -> Verdict {
        if self.unreported() && self.exact.is_empty() {
            return Verdict::Neutral;
        }
        self.reputation(viewer, config).verdict
    }
}

/// How much a report counts in the baselines, SpamCop's way: 4 when new,
/// sliding to 1 at 48 hours.
fn spamcop_weight(age: u64) -> f64 {
    let hours = age as f64 / HOUR as f64;
    (4.0 - 3.0 * hours / 48.0).max(1.0)
}

/// Hours without a new report after which a baseline listing lapses.
const LAPSE: u64 = 24 * HOUR;

/// The baselines' score of a subject: time-weighted reports (each author
/// weighing `weight(author)`), 0 once the newest report is older than a
/// day. A listing is the score at or above a threshold.
fn baseline_score(exact: &[Said], at: u64, weight: impl Fn(&NodeKey) -> f64) -> f64 {
    let reports = exact.iter().filter(|s| s.is_report());
    let newest = reports.clone().map(|s| s.created_at).max();
    if newest.is_none_or(|t| at.saturating_sub(t) >= LAPSE) {
        return 0.0;
    }
    reports
        .map(|s| weight(&s.author) * spamcop_weight(at.saturating_sub(s.created_at)))
        .sum()
}

/// A SpamCop-style list: time-weighted report count (fresh reports weigh
/// 4, sliding to 1 at 48 h; a listing lapses a day after the last report),
/// every reporter counted alike.
pub fn spamcop_score(snapshot: &Snapshot) -> f64 {
    baseline_score(&snapshot.exact, snapshot.at, |_| 1.0)
}

/// One global trust vector for everyone: PageRank over the trust graph
/// with the restart spread over every key in it (nobody's point of view),
/// scaled so the mean key has 1.
pub struct GlobalTrust {
    trust: HashMap<NodeKey, f64>,
}

impl GlobalTrust {
    /// Computes the vector over the graph live at `at`.
    pub fn compute(timeline: &Timeline, at: u64, restart: f64) -> GlobalTrust {
        let mut out: HashMap<NodeKey, Vec<(NodeKey, f64)>> = HashMap::new();
        let mut keys: Vec<NodeKey> = Vec::new();
        for (_, s) in timeline.trust(at) {
            if let (Subject::Node(to), Claim::Trust { weight }) = (&s.body.subject, &s.body.claim) {
                out.entry(s.author)
                    .or_default()
                    .push((*to, f64::from(*weight)));
                keys.push(s.author);
                keys.push(*to);
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let index: HashMap<NodeKey, usize> =
            keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let n = keys.len().max(1);
        let mut rank = vec![1.0 / n as f64; n];
        for _ in 0..30 {
            let mut next = vec![restart / n as f64; n];
            let mut dangling = 0.0;
            for (i, key) in keys.iter().enumerate() {
                let edges = out.get(key).map_or(&[][..], Vec::as_slice);
                let total: f64 = edges.iter().map(|(_, w)| w).sum();
                if total == 0.0 {
                    dangling += rank[i];
                    continue;
                }
                for (to, w) in edges {
                    if let Some(&j) = index.get(to) {
                        next[j] += (1.0 - restart) * rank[i] * w / total;
                    }
                }
            }
            for x in &mut next {
                *x += (1.0 - restart) * dangling / n as f64;
            }
            rank = next;
        }
        GlobalTrust {
            trust: keys
                .into_iter()
                .zip(rank)
                .map(|(k, r)| (k, r * n as f64))
                .collect(),
        }
    }

    /// The global trust-weighted, time-weighted report count.
    pub fn score(&self, snapshot: &Snapshot) -> f64 {
        baseline_score(&snapshot.exact, snapshot.at, |author| {
            self.trust.get(author).copied().unwrap_or(0.0)
        })
    }
}

/// A baseline's threshold: it lists a subject whose score reaches it.
#[derive(Debug, Clone, Copy)]
pub struct Threshold(pub f64);

impl Threshold {
    /// Whether `score` is listed (a threshold of infinity lists nothing).
    pub fn lists(self, score: f64) -> bool {
        score > 0.0 && score >= self.0
    }
}
