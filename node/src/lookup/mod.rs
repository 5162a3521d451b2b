//! Answering "how much should I trust this sender, and why?": read what the
//! store holds about a subject and score it with the current trust map.
//! Every front-end (the HTTP API, and the mail-server front-ends) asks here.

mod kept;
#[cfg(test)]
mod kept_tests;
mod recent;
mod standing;
mod unheard_of;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use vouch_protocol::Subject;

use crate::metrics::Metrics;
use crate::names::NameBook;
use crate::store::{MirrorView, Store};
use crate::trust::{
    Reputation, Said, SubjectEvidence, TrustEngine, TrustMap, is_endorsed_forwarder, reputation,
};
pub use kept::{KeptAnswer, json};
use recent::RecentAnswers;
pub use standing::Standing;
use unheard_of::UnheardOf;

/// Most distinct relaying hosts checked for a forwarder endorsement in one
/// lookup.
pub const MAX_FORWARDERS_PER_LOOKUP: usize = 32;

/// Most statements a quick lookup weighs (see [`Reputations::quick`]):
/// a few tens of microseconds of scoring.
pub const QUICK_STATEMENTS: usize = 256;

/// An answer as a lookup gives it.
#[derive(Debug)]
pub enum Answer {
    /// Scored for this lookup (or about a sender nothing bears on).
    Fresh(Reputation),
    /// Kept from the last seconds, shared by the lookups that give it again.
    Kept(Arc<KeptAnswer>),
}

impl Answer {
    /// The answer.
    pub fn reputation(&self) -> &Reputation {
        match self {
            Answer::Fresh(reputation) => reputation,
            Answer::Kept(kept) => kept.reputation(),
        }
    }

    /// The answer, a kept one copied.
    pub fn into_reputation(self) -> Reputation {
        match self {
            Answer::Fresh(reputation) => reputation,
            Answer::Kept(kept) => kept.reputation().clone(),
        }
    }
}

/// A cheap, cloneable handle for reputation lookups.
#[derive(Clone)]
pub struct Reputations {
    store: Arc<Store>,
    trust: Arc<TrustEngine>,
    metrics: Metrics,
    names: Arc<NameBook>,
    recent: Arc<RecentAnswers>,
    /// The answer about a subject nothing bears on: what scoring no
    /// evidence gives, whatever the subject, the trust map or the time.
    unheard_of: Arc<UnheardOf>,
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
        let unheard_of = Arc::new(UnheardOf::new(trust.config()));
        Reputations {
            store,
            trust,
            metrics,
            names,
            recent: Arc::default(),
            unheard_of,
        }
    }

    /// Scores one subject at time `now`, from memory (the store's mirror
    /// and the last trust map): reads nothing from disk and never walks
    /// the trust graph. May take a while for a subject with thousands of
    /// statements, or in a busy /24 not weighed since its last write: on
    /// an async task, try [`Reputations::quick`] first.
    pub fn lookup(&self, subject: &Subject, now: u64) -> Reputation {
        self.answer(subject, now).into_reputation()
    }

    /// [`Reputations::lookup`], an answer kept from the last seconds
    /// given as it is kept.
    pub fn answer(&self, subject: &Subject, now: u64) -> Answer {
        let trust = self.trust.snapshot();
        let mirror = self.store.mirror();
        let answer = match self.recalled(&mirror, &trust, subject, now) {
            Some(answer) => {
                drop(mirror);
                answer
            }
            None => Answer::Fresh(self.scored(mirror, &trust, subject, now)),
        };
        self.finish(answer)
    }

    /// Scores one subject at time `now` when that weighs at most
    /// [`QUICK_STATEMENTS`] statements (a sender nobody spoke of, one
    /// with a few statements, one in a /24 already weighed, or one whose
    /// answer is kept from the last seconds): an answer fit for an async
    /// task; `None` otherwise.
    pub fn quick(&self, subject: &Subject, now: u64) -> Option<Reputation> {
        self.quick_answer(subject, now).map(Answer::into_reputation)
    }

    /// [`Reputations::quick`], an answer kept from the last seconds given
    /// as it is kept.
    pub fn quick_answer(&self, subject: &Subject, now: u64) -> Option<Answer> {
        let trust = self.trust.snapshot();
        let mirror = self.store.mirror();
        let answer = match self.recalled(&mirror, &trust, subject, now) {
            Some(answer) => {
                drop(mirror);
                answer
            }
            None if mirror.weighs(subject, &trust, now, QUICK_STATEMENTS + 1)
                > QUICK_STATEMENTS =>
            {
                return None;
            }
            None => Answer::Fresh(self.scored(mirror, &trust, subject, now)),
        };
        Some(self.finish(answer))
    }

    /// The JSON of the answer about `subject` when nothing the node holds
    /// bears on it, written without scoring (see [`UnheardOf`]), and
    /// counted; `None` when something does.
    pub fn unheard_of_json(&self, subject: &Subject) -> Option<Bytes> {
        if !self.store.mirror().is_unheard_of(subject) {
            return None;
        }
        let body = self.unheard_of.json(subject)?;
        self.metrics.lookup(self.unheard_of.standing.verdict);
        Some(body)
    }

    /// Where `subject` stands at `now` (all a DNS list's A record
    /// carries), when that is quick (see [`Reputations::quick`]); `None`
    /// otherwise. An address scored in the last seconds is not scored
    /// again, even when asked about for the first time since.
    pub fn standing(&self, subject: &Subject, now: u64) -> Option<Standing> {
        let mirror = self.store.mirror();
        let standing = if mirror.is_unheard_of(subject) {
            self.unheard_of.standing
        } else {
            let trust = self.trust.snapshot();
            match self
                .recent
                .standing(subject, &trust, mirror.generation(), now)
            {
                Some(standing) => standing,
                None if mirror.weighs(subject, &trust, now, QUICK_STATEMENTS + 1)
                    > QUICK_STATEMENTS =>
                {
                    return None;
                }
                None => Standing::of(&self.scored(mirror, &trust, subject, now)),
            }
        };
        self.metrics.lookup(standing.verdict);
        Some(standing)
    }

    /// The answer about `subject` without weighing a statement: a sender
    /// nothing in `mirror` bears on, or one answered in the last seconds
    /// (see [`recent`]).
    fn recalled(
        &self,
        mirror: &MirrorView,
        trust: &Arc<TrustMap>,
        subject: &Subject,
        now: u64,
    ) -> Option<Answer> {
        if mirror.is_unheard_of(subject) {
            // What scoring gives when it finds no evidence.
            let nothing = SubjectEvidence::default();
            return Some(Answer::Fresh(reputation(
                subject,
                &nothing,
                trust,
                now,
                self.trust.config(),
            )));
        }
        self.recent
            .get(subject, trust, mirror.generation(), now)
            .map(Answer::Kept)
    }

    /// Scores `subject` from `mirror` under `trust`, and keeps the answer
    /// for the next seconds (whole, named, when its subject was asked
    /// about before; see [`recent`]).
    fn scored(
        &self,
        mirror: MirrorView,
        trust: &Arc<TrustMap>,
        subject: &Subject,
        now: u64,
    ) -> Reputation {
        let config = self.trust.config();
        let exact = mirror.about(subject);
        let (neighbourhood, relayed) = match subject {
            Subject::Ip(_) => (
                mirror.neighbourhood(subject, trust, now, config),
                self.relayed_through_forwarders(&mirror, trust, subject, now),
            ),
            _ => (None, Vec::new()),
        };
        // Scored under the view (briefly holding writes back): the
        // independence check reads who else the witnesses reported.
        let evidence = SubjectEvidence {
            exact: &exact,
            neighbourhood: neighbourhood.as_deref(),
            relayed: &relayed,
            co_reports: Some(&mirror),
            ..SubjectEvidence::default()
        };
        let reputation = reputation(subject, &evidence, trust, now, config);
        let generation = mirror.generation();
        drop(mirror);
        // Given as scored this time: most answers kept are never given
        // again, and only one given again has its JSON kept with it.
        if !self.recent.note(trust, generation, now, &reputation) {
            return reputation;
        }
        let named = self.named(reputation);
        let kept = Arc::new(KeptAnswer::new(named.clone()));
        self.recent.keep(trust, generation, now, kept);
        named
    }

    /// Names the authors in a fresh answer's explanation (a kept one's
    /// were named when it was kept), and counts the answer.
    fn finish(&self, answer: Answer) -> Answer {
        let answer = match answer {
            Answer::Fresh(reputation) => Answer::Fresh(self.named(reputation)),
            kept => kept,
        };
        self.metrics.lookup(answer.reputation().verdict);
        answer
    }

    /// `reputation` with the authors in its explanation named.
    fn named(&self, mut reputation: Reputation) -> Reputation {
        for item in &mut reputation.explanation {
            item.author_name = self.names.name_of(&item.author).map(|n| n.to_string());
        }
        reputation
    }

    /// Reports naming `origin` as the source of relayed mail, kept only
    /// when the host that relayed it is an endorsed forwarder (each distinct
    /// forwarder is looked up once).
    fn relayed_through_forwarders(
        &self,
        mirror: &MirrorView,
        trust: &TrustMap,
        origin: &Subject,
        now: u64,
    ) -> Vec<Said> {
        let mut forwarders: HashMap<Subject, bool> = HashMap::new();
        let mut kept = Vec::new();
        for report in mirror.relayed_from(origin) {
            let endorsed = match forwarders.get(&report.subject) {
                Some(known) => *known,
                // Peers' reports choose the hosts: only so many are looked at.
                None if forwarders.len() >= MAX_FORWARDERS_PER_LOOKUP => continue,
                None => {
                    let about = mirror.about(&report.subject);
                    let endorsed = is_endorsed_forwarder(&about, trust, now, self.trust.config());
                    forwarders.insert(report.subject.clone(), endorsed);
                    endorsed
                }
            };
            if endorsed {
                kept.push(report);
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use vouch_protocol::{Claim, EndorseCategory, Evidence, ReportCategory};

    use super::recent::REUSE_SECS;
    use super::{MAX_FORWARDERS_PER_LOOKUP, QUICK_STATEMENTS};
    use crate::clock::unix_now;
    use crate::test_support::{TestNode, peer};
    use crate::trust::Config;

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
            .lookup(&origin.parse().expect("subject"), unix_now());
        assert_eq!(reputation.statements, MAX_FORWARDERS_PER_LOOKUP);
        node.stop().await;
    }

    /// A /24 with more reports than a quick lookup weighs is answered off
    /// the async runtime until it is weighed; then quickly, with the same
    /// answer, until a write touches the block.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_block_is_answered_quickly_once_weighed_until_a_write_touches_it() {
        let node = TestNode::start(|config| config.p2p.enabled = false).await;
        let reporters = [peer(1), peer(2)];
        for reporter in &reporters {
            node.trust(reporter);
        }
        let members = QUICK_STATEMENTS / 2 + 10;
        assert!(members < 255);
        for n in 0..members {
            for reporter in &reporters {
                node.report(
                    reporter,
                    &format!("203.0.113.{}", n + 1),
                    ReportCategory::Spam,
                    60,
                );
            }
        }
        node.state.trust.recompute_if_dirty();
        let reputations = &node.state.reputations;
        let (subject, now) = ("203.0.113.254".parse().expect("ip"), unix_now());
        assert!(
            reputations.quick(&subject, now).is_none(),
            "not weighed yet"
        );
        let full = reputations.lookup(&subject, now);
        let quick = reputations
            .quick(&subject, now)
            .expect("weighed by the lookup");
        let json = |r| serde_json::to_string(&r).expect("json");
        assert_eq!(json(quick), json(full.clone()));
        assert!(full.netblock > 0.0, "{full:?}");
        assert!(
            reputations.quick(&subject, now + 600).is_some(),
            "carried forward"
        );

        node.report(&reporters[0], "203.0.113.250", ReportCategory::Spam, 0);
        assert!(
            reputations.quick(&subject, now).is_none(),
            "the write touched the block"
        );
        node.report(&reporters[0], "198.51.100.1", ReportCategory::Spam, 0);
        assert!(
            reputations
                .quick(&"198.51.100.1".parse().expect("ip"), now)
                .is_some()
        );
        assert!(
            reputations
                .quick(&"example.org".parse().expect("domain"), now)
                .is_some()
        );
        node.stop().await;
    }

    /// An answer about a sender asked about before is given again for
    /// [`REUSE_SECS`] (its explanation's ages stay those of the second it
    /// was given at), and scored afresh after them, after any write, and
    /// under a new trust map.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_is_reused_for_seconds_until_a_write_or_a_new_trust_map() {
        let node = TestNode::start(|config| config.p2p.enabled = false).await;
        let reporters = [peer(1), peer(2)];
        node.trust(&reporters[0]);
        node.report(&reporters[0], "203.0.113.9", ReportCategory::Spam, 60);
        node.state.trust.recompute_if_dirty();
        let reputations = &node.state.reputations;
        let subject = "203.0.113.9".parse().expect("ip");
        let age = |now| reputations.lookup(&subject, now).explanation[0].age_secs;
        let now = unix_now();
        assert_eq!(age(now - 1) + 1, age(now), "asked about once: not kept");
        let first = age(now);
        assert_eq!(age(now + REUSE_SECS), first, "reused");
        let quick = reputations.quick(&subject, now + 1).expect("quick");
        assert_eq!(quick.explanation[0].age_secs, first, "reused by quick");
        assert_eq!(age(now + REUSE_SECS + 1), first + REUSE_SECS + 1, "too old");

        let now = now + REUSE_SECS + 1;
        node.report(&reporters[1], "198.51.100.1", ReportCategory::Spam, 0);
        assert_eq!(age(now + 1), first + REUSE_SECS + 2, "a write elsewhere");

        let now = now + 1;
        let before = reputations.lookup(&subject, now);
        node.trust(&reporters[1]);
        node.report(&reporters[1], "203.0.113.9", ReportCategory::Spam, 0);
        node.state.trust.recompute_if_dirty();
        let after = reputations.lookup(&subject, now);
        assert_eq!((before.explanation.len(), after.explanation.len()), (1, 2));
        assert!(after.reported > before.reported, "{after:?}");
        node.stop().await;
    }

    /// A node whose web holds 40 reporters, each of whom reported a server
    /// of its own; the first `witnesses` then report 203.0.113.50 one
    /// after another, 100 minutes apart (never a burst, nor a dozen
    /// within the steady window), and, when `clique`, also all the same
    /// five servers. Returns whether the fast clock held their reports.
    async fn slow_witnesses_are_fresh(witnesses: usize, clique: bool) -> bool {
        let node = TestNode::start(|config| config.p2p.enabled = false).await;
        let reporters: Vec<_> = (1..=40).map(peer).collect();
        for (n, reporter) in reporters.iter().enumerate() {
            node.trust(reporter);
            node.report(
                reporter,
                &format!("198.51.100.{}", n + 1),
                ReportCategory::Spam,
                0,
            );
        }
        for (i, reporter) in reporters.iter().take(witnesses).enumerate() {
            let age = 300 + i as u64 * 100 * 60;
            node.report(reporter, "203.0.113.50", ReportCategory::Spam, age);
            if clique {
                for server in 1..=5 {
                    let subject = format!("192.0.2.{server}");
                    node.report(reporter, &subject, ReportCategory::Spam, age);
                }
            }
        }
        let reputation = node
            .state
            .reputations
            .lookup(&"203.0.113.50".parse().expect("subject"), unix_now());
        node.stop().await;
        let fresh = reputation.explanation.iter().filter(|c| c.fresh).count();
        assert!(
            fresh == 0 || fresh == reputation.explanation.len(),
            "{reputation:?}"
        );
        fresh > 0
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_independent_witnesses_hold_a_source_a_clique_of_them_does_not() {
        let k = Config::default().fresh_independent_reporters;
        assert!(slow_witnesses_are_fresh(k, false).await);
        assert!(!slow_witnesses_are_fresh(k, true).await);
        assert!(!slow_witnesses_are_fresh(k - 1, false).await);
    }
}
