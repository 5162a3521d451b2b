//! The netblock signal weighed once for a whole /24 (or /48). Every member
//! of a block is scored against the same reported neighbours, so a node
//! weighs a busy block's reports once and scores each member from a few
//! sums: the block's report mass, how many members are reported, and the
//! heaviest reports to show. A member's own reports, which it reads
//! anyway, are taken back out when it is scored.
//!
//! Neighbours' reports all decay at the report half-life, so the weighed
//! mass carries forward to a later time by one common factor, until the
//! first of those reports expires.

use vouch_protocol::Subject;

use crate::rank::TrustMap;
use crate::said::Said;
use crate::score::{Signal, Weighed, by_weight, decay, weigh};
use crate::{Config, FastMap};

/// What the reports about a netblock's members (and the block itself)
/// weigh, at one time, under one trust map: a few sums, whatever the
/// number of members.
#[derive(Debug, Clone, Default)]
pub struct Neighbourhood {
    /// When it was weighed, Unix seconds.
    at: u64,
    /// The mass carries forward to any time before this one: the first
    /// expiry among the weighed reports (or just past `at`, when a report
    /// was made after `at`: its age was clamped to 0).
    until: u64,
    /// Trusted, decayed report mass over all reported members, summed
    /// lightest member first.
    mass: f64,
    /// Reported members that are addresses.
    reported_ips: usize,
    /// Reported members that are netblocks (the block itself).
    reported_blocks: usize,
    /// Trusted, live reports weighed.
    reports: usize,
    /// The heaviest reports (heaviest first), at most `max_explanation`
    /// per member: enough to fill an explanation whichever member is
    /// asked about.
    heaviest: Vec<Said>,
}

/// The block as one member sees it: everything but its own reports.
pub(crate) struct Seen<'a> {
    /// Reported neighbouring addresses.
    pub reported_ips: usize,
    /// Whether the block itself is reported.
    pub block_reported: bool,
    /// Mean mass over reported neighbours, when there are any.
    pub mean: Option<f64>,
    /// Reports weighed, in all.
    pub reports: usize,
    /// The heaviest of them, weighed at the time asked, heaviest first.
    pub heaviest: Vec<Weighed<'a>>,
}

impl Neighbourhood {
    /// Weighs `netblock` (the statements about a block's members and the
    /// block itself) at `now` under `trust`: only trusted, live reports
    /// count.
    pub fn weigh<'a>(
        netblock: impl IntoIterator<Item = &'a Said>,
        trust: &TrustMap,
        now: u64,
        config: &Config,
    ) -> Self {
        let weighed: Vec<Weighed> = netblock
            .into_iter()
            .filter(|s| s.is_report())
            .filter_map(|s| weigh(s, Signal::Netblock, trust, now, config, None))
            .collect();
        let mut masses: FastMap<&Subject, f64> =
            FastMap::with_capacity_and_hasher(weighed.len(), Default::default());
        let mut until = u64::MAX;
        for w in &weighed {
            *masses.entry(&w.said.subject).or_default() -= w.weight;
            until = until.min(w.said.expires_at);
            if w.said.created_at > now {
                until = until.min(now.saturating_add(1));
            }
        }
        let reported_ips = masses
            .keys()
            .filter(|s| matches!(s, Subject::Ip(_)))
            .count();
        let reported_blocks = masses
            .keys()
            .filter(|s| matches!(s, Subject::Net { .. }))
            .count();
        // Summed in a fixed order: the map's order is random per process,
        // and a mean that lands on the suspect threshold must land the same
        // way every time.
        let mut masses: Vec<f64> = masses.into_values().collect();
        masses.sort_by(f64::total_cmp);
        Neighbourhood {
            at: now,
            until,
            mass: masses.iter().sum(),
            reported_ips,
            reported_blocks,
            reports: weighed.len(),
            heaviest: heaviest(weighed, config.max_explanation),
        }
    }

    /// Whether its mass carries forward to `now`.
    pub fn covers(&self, now: u64) -> bool {
        self.at <= now && now < self.until
    }

    /// Trusted, live reports weighed.
    pub fn reports(&self) -> usize {
        self.reports
    }

    /// The block as `subject` sees it at `now` (which it covers), given
    /// `own`, the statements about `subject` as the block holds them:
    /// the mass carried forward, `subject`'s own reports taken out.
    pub(crate) fn seen_from(
        &self,
        subject: &Subject,
        own: &[Said],
        trust: &TrustMap,
        now: u64,
        config: &Config,
    ) -> Seen<'_> {
        let (own_mass, own_reports) = own
            .iter()
            .filter(|s| s.is_report() && &s.subject == subject)
            .filter_map(|s| weigh(s, Signal::Netblock, trust, now, config, None))
            .fold((0.0, 0), |(mass, reports), w| {
                (mass - w.weight, reports + 1)
            });
        let own_reported = usize::from(own_reports > 0);
        let (reported_ips, reported_blocks) = match subject {
            Subject::Ip(_) => (
                self.reported_ips.saturating_sub(own_reported),
                self.reported_blocks,
            ),
            Subject::Net { .. } => (
                self.reported_ips,
                self.reported_blocks.saturating_sub(own_reported),
            ),
            _ => (self.reported_ips, self.reported_blocks),
        };
        let count = reported_ips + reported_blocks;
        let mass = if own_reports == 0 {
            self.mass * self.factor(now, config)
        } else {
            (self.mass * self.factor(now, config) - own_mass).max(0.0)
        };
        let mean = (count > 0).then(|| mass / count as f64);
        let heaviest = self
            .heaviest
            .iter()
            .filter(|s| &s.subject != subject)
            .filter_map(|s| weigh(s, Signal::Netblock, trust, now, config, None))
            .take(config.max_explanation)
            .collect();
        Seen {
            reported_ips,
            block_reported: reported_blocks > 0,
            mean,
            reports: self.reports.saturating_sub(own_reports),
            heaviest,
        }
    }

    /// How much the weighed reports have decayed from `at` to `now`.
    fn factor(&self, now: u64, config: &Config) -> f64 {
        decay(
            now.saturating_sub(self.at),
            config.report_half_life_hours * 3_600.0,
        )
    }
}

/// The heaviest of `weighed`, heaviest first, at most `shown` per
/// subject: enough that `shown` remain once any one subject's are left
/// out (no more of one subject could ever be shown).
fn heaviest(mut weighed: Vec<Weighed>, shown: usize) -> Vec<Said> {
    weighed.sort_by(|a, b| by_weight(&a, &b));
    let mut kept = Vec::new();
    let mut per_subject: FastMap<&Subject, usize> = FastMap::default();
    let mut most = 0;
    for w in &weighed {
        if kept.len() - most >= shown {
            break;
        }
        let count = per_subject.entry(&w.said.subject).or_default();
        if *count == shown {
            continue;
        }
        *count += 1;
        most = most.max(*count);
        kept.push(w.said.clone());
    }
    kept
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use vouch_protocol::{EndorseCategory, NodeKey, ReportCategory, StatementId, Subject};

    use super::Neighbourhood;
    use crate::said::{Said, SaidClaim};
    use crate::score::{Reputation, SubjectEvidence};
    use crate::{Config, TrustEngine};

    const T0: u64 = 1_800_000_000;
    const HOUR: u64 = 3_600;
    const AUTHORS: u8 = 6;

    /// Members 0..12 are addresses in 203.0.113.0/24, 12 is the block itself.
    fn member(n: u8) -> Subject {
        if n == 12 {
            "203.0.113.0/24".parse().expect("net")
        } else {
            format!("203.0.113.{}", n + 1).parse().expect("ip")
        }
    }

    /// The local node (author 0) trusts authors 1 to 4, each as given;
    /// author 5 is a stranger.
    fn engine(weights: &[u8]) -> TrustEngine {
        let engine = TrustEngine::new(NodeKey([0; 32]), Config::default());
        for (to, weight) in (1..=4u8).zip(weights) {
            engine.set_edge(NodeKey([0; 32]), NodeKey([to; 32]), *weight);
        }
        engine.recompute_if_dirty();
        engine
    }

    /// (member, author, age in minutes (negative: made after T0), lifetime
    /// in hours, whether an endorsement, messages).
    type Spec = (u8, u8, i64, u64, bool, u32);

    fn said(n: usize, &(member_n, author, age, lifetime, endorse, count): &Spec) -> Said {
        let created_at = T0.saturating_add_signed(-age * 60);
        let mut id = [0; 32];
        id[..8].copy_from_slice(&(n as u64).to_be_bytes());
        Said {
            id: StatementId(id),
            author: NodeKey([author; 32]),
            subject: member(member_n),
            created_at,
            expires_at: created_at + lifetime * HOUR,
            first_reported: created_at,
            claim: if endorse {
                SaidClaim::Endorse(EndorseCategory::LegitimateSender)
            } else {
                SaidClaim::Report {
                    category: ReportCategory::Spam,
                    count,
                    relayed_from: None,
                }
            },
        }
    }

    fn score(
        engine: &TrustEngine,
        subject: &Subject,
        statements: &[Said],
        neighbourhood: Option<&Neighbourhood>,
        now: u64,
    ) -> Reputation {
        let exact: Vec<Said> = statements
            .iter()
            .filter(|s| &s.subject == subject)
            .cloned()
            .collect();
        let evidence = SubjectEvidence {
            exact: &exact,
            netblock: statements,
            neighbourhood,
            ..SubjectEvidence::default()
        };
        engine.reputation(subject, &evidence, now)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A block weighed once and carried forward scores every member
        /// as weighing it afresh does (to rounding: a member's own reports
        /// are taken back out of the block's mass).
        #[test]
        fn a_weighed_block_scores_members_as_weighing_it_afresh(
            weights in proptest::collection::vec(1u8..=100, 4),
            specs in proptest::collection::vec(
                (0u8..13, 0..AUTHORS, -30i64..2_880, 1u64..72, prop::bool::weighted(0.15), 1u32..50),
                0..60,
            ),
            asked in 0u8..14,
            later_minutes in prop_oneof![Just(0u64), 0u64..2_880],
        ) {
            let engine = engine(&weights);
            let statements: Vec<Said> =
                specs.iter().enumerate().map(|(n, spec)| said(n, spec)).collect();
            let subject = if asked == 13 { "203.0.113.200".parse().expect("ip") } else { member(asked) };
            let config = engine.config();
            let weighed = Neighbourhood::weigh(&statements, &engine.snapshot(), T0, config);
            let now = T0 + later_minutes * 60;
            let full = score(&engine, &subject, &statements, None, now);
            let fast = score(&engine, &subject, &statements, Some(&weighed), now);
            if !weighed.covers(now) {
                // Not carried forward: weighed afresh, the same answer.
                prop_assert_eq!(
                    serde_json::to_string(&fast).expect("json"),
                    serde_json::to_string(&full).expect("json")
                );
                return Ok(());
            }
            prop_assert_eq!(fast.verdict, full.verdict);
            prop_assert!((fast.score - full.score).abs() <= 1e-12, "{} {}", fast.score, full.score);
            prop_assert!((fast.netblock - full.netblock).abs() <= 1e-12);
            prop_assert_eq!(fast.netblock_reported_ips, full.netblock_reported_ips);
            prop_assert_eq!(fast.statements, full.statements);
            let ids = |r: &Reputation| r.explanation.iter().map(|c| c.id).collect::<Vec<_>>();
            prop_assert_eq!(ids(&fast), ids(&full));
        }
    }

    #[test]
    fn a_block_is_carried_forward_until_its_first_report_expires_and_not_past_a_later_report() {
        let engine = engine(&[100, 100, 100, 100]);
        let trust = engine.snapshot();
        let config = engine.config();
        let reports = [
            said(0, &(0, 1, 60, 10, false, 1)),
            said(1, &(1, 2, 60, 5, false, 1)),
        ];
        let weighed = Neighbourhood::weigh(&reports, &trust, T0, config);
        assert_eq!(weighed.reports(), 2);
        assert!(weighed.covers(T0) && weighed.covers(T0 + 4 * HOUR - 1));
        assert!(!weighed.covers(T0 - 1), "not backwards");
        assert!(
            !weighed.covers(T0 + 4 * HOUR),
            "the second report expired then"
        );

        let later = [said(0, &(0, 1, -5, 10, false, 1))];
        let weighed = Neighbourhood::weigh(&later, &trust, T0, config);
        assert!(weighed.covers(T0));
        assert!(
            !weighed.covers(T0 + 1),
            "a report made after T0 decays differently"
        );

        let stranger = [said(0, &(0, 5, 60, 10, false, 1))];
        assert_eq!(
            Neighbourhood::weigh(&stranger, &trust, T0, config).reports(),
            0
        );
    }
}
