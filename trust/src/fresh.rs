//! The fast clock: new, independent witnesses reporting a subject within a
//! short window make their reports weigh a full voice for a few hours, so
//! a spam source is blocked while it still sends; short of that, they
//! defer it. Which windows start the clock (a burst, an hour, a steady
//! stream, many witnesses, or fewer who report independently of each
//! other) and how fast the boost fades are the trust settings' `fresh_*`.

use vouch_protocol::{NodeKey, Subject};

use crate::Config;
use crate::independence::{CoReports, MAX_COMPARED_WITNESSES, independent};
use crate::rank::TrustMap;
use crate::score::{Signal, Weighed, decay};

/// Whether a report may count as fresh evidence: a report (exact or
/// attributed through a forwarder) whose author first reported the subject
/// within the fresh window, and not before a trusted remediation.
fn is_fresh_candidate(w: &Weighed, half_life_minutes: f64, remediated_at: Option<u64>) -> bool {
    is_report_candidate(w, remediated_at)
        && (w.witness_age_secs as f64) <= 4.0 * half_life_minutes * 60.0
}

/// Whether a report may count as a witness at all, however old: a report
/// (exact or attributed through a forwarder) not made before a trusted
/// remediation.
pub(crate) fn is_report_candidate(w: &Weighed, remediated_at: Option<u64>) -> bool {
    w.said.is_report()
        && w.signal != Signal::Netblock
        && !w.attributed_elsewhere
        && remediated_at.is_none_or(|fixed| w.said.created_at >= fixed)
}

/// How far back first reports can still matter to the fast clock: four
/// half-lives (the boost is down to 1/16 by then).
fn fresh_memory_secs(config: &Config) -> f64 {
    4.0 * config.fresh_half_life_minutes * 60.0
}

/// Whether the author of `w` weighs enough to be a fresh witness.
fn is_witness(w: &Weighed, trust: &TrustMap, config: &Config) -> bool {
    w.author_weight >= config.fresh_witness_share * trust.author_cap()
}

/// New witnesses over each of the fast clock's windows.
#[derive(Debug, Clone)]
pub(crate) struct FreshWitnesses {
    /// The most whose first reports fall within one `fresh_burst_minutes`.
    pub burst: usize,
    /// The most within one `fresh_window_minutes`.
    pub window: usize,
    /// All within the last `fresh_steady_hours`.
    pub steady: usize,
    /// All, however long ago.
    pub held: usize,
    /// The most recent of them (at most [`MAX_COMPARED_WITNESSES`]), for
    /// the check that they report independently of each other.
    pub recent: Vec<NodeKey>,
}

/// The trigger that started the fast clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FreshClock {
    /// The new witnesses that started it.
    pub reporters: usize,
    /// The window their first reports fall within, minutes.
    pub window_minutes: f64,
    /// How fast their boost fades: a burst or an hour's reports with the
    /// fresh half-life; a steady stream over its whole window (the boost
    /// halves four times within it).
    pub half_life_minutes: f64,
}

impl FreshWitnesses {
    /// The trigger that starts the fast clock, if one does: each needs its
    /// count of new witnesses beyond the witnesses endorsing the subject.
    /// The last trigger, independent witnesses, asks `co_reports` (when
    /// given) whether they report independently of each other.
    pub(crate) fn started(
        &self,
        config: &Config,
        endorsers: usize,
        co_reports: Option<(&dyn CoReports, &Subject)>,
    ) -> Option<FreshClock> {
        let fresh = config.fresh_half_life_minutes;
        let steady_minutes = config.fresh_steady_hours * 60.0;
        let hold_minutes = config.fresh_hold_hours * 60.0;
        let held = (hold_minutes, fresh.max(hold_minutes / 4.0));
        let start = |triggers: &[(usize, usize, (f64, f64))]| {
            triggers
                .iter()
                .find(|&&(count, needed, _)| count >= needed + endorsers)
                .map(
                    |&(reporters, _, (window_minutes, half_life_minutes))| FreshClock {
                        reporters,
                        window_minutes,
                        half_life_minutes,
                    },
                )
        };
        let counted = start(&[
            (self.held, config.fresh_hold_reporters, held),
            (
                self.window,
                config.fresh_min_reporters,
                (config.fresh_window_minutes, fresh),
            ),
            (
                self.burst,
                config.fresh_burst_reporters,
                (config.fresh_burst_minutes, fresh),
            ),
            (
                self.steady,
                config.fresh_steady_reporters,
                (steady_minutes, fresh.max(steady_minutes / 4.0)),
            ),
        ]);
        if counted.is_some() {
            return counted;
        }
        // Asked only when enough witnesses could start the clock on it.
        let (co_reports, subject) = co_reports?;
        if self.held < config.fresh_independent_reporters + endorsers {
            return None;
        }
        let alone = independent(
            co_reports,
            &self.recent,
            subject,
            config.fresh_independent_max_ratio,
            config.fresh_independent_max_excess,
        );
        alone.then_some(FreshClock {
            reporters: self.held,
            window_minutes: hold_minutes,
            half_life_minutes: fresh.max(hold_minutes / 4.0),
        })
    }
}

/// Distinct new witnesses among the weighed statements: authors of first
/// reports within the fresh memory (or the steady window, when longer)
/// who weigh at least `fresh_witness_share` of the per-author cap, counted
/// over each of the fast clock's windows, and all of them however long
/// ago, the most recent first.
pub(crate) fn fresh_witnesses(
    weighed: &[Weighed],
    trust: &TrustMap,
    config: &Config,
    remediated_at: Option<u64>,
) -> FreshWitnesses {
    let memory = fresh_memory_secs(config);
    let steady = config.fresh_steady_hours * 3600.0;
    // (first report age, author) of every witness, one per author.
    let mut firsts: Vec<(u64, &NodeKey)> = weighed
        .iter()
        .filter(|w| is_report_candidate(w, remediated_at))
        .filter(|w| is_witness(w, trust, config))
        .map(|w| (w.witness_age_secs, &w.said.author))
        .collect();
    firsts.sort_unstable_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
    firsts.dedup_by(|a, b| a.1 == b.1);
    firsts.sort_unstable();
    let held = firsts.len();
    let recent = firsts
        .iter()
        .take(MAX_COMPARED_WITNESSES)
        .map(|(_, author)| **author)
        .collect();
    let steady = firsts.partition_point(|(age, _)| *age as f64 <= steady);
    firsts.truncate(firsts.partition_point(|(age, _)| *age as f64 <= memory));
    let minutes = |m: f64| (m * 60.0) as u64;
    FreshWitnesses {
        burst: most_within(&firsts, minutes(config.fresh_burst_minutes)),
        window: most_within(&firsts, minutes(config.fresh_window_minutes)),
        steady,
        held,
        recent,
    }
}

/// The most first reports (sorted by age) within one window of `window`
/// seconds.
fn most_within(firsts: &[(u64, &NodeKey)], window: u64) -> usize {
    let mut best = 0;
    let mut start = 0;
    // Sorted by age: the window is [start, end], `end` the oldest in it.
    for (end, (oldest, _)) in firsts.iter().enumerate() {
        while firsts
            .get(start)
            .is_some_and(|(youngest, _)| oldest - youngest > window)
        {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// Distinct witnesses endorsing the subject: each one holds back one fresh
/// report, so a sender trusted operators vouch for is not blocked on a
/// handful of mistaken reports within the hour.
pub(crate) fn endorsing_witnesses(weighed: &[Weighed], trust: &TrustMap, config: &Config) -> usize {
    let mut authors: Vec<&NodeKey> = weighed
        .iter()
        .filter(|w| w.said.kind() == vouch_protocol::Kind::Endorse)
        .filter(|w| w.signal == Signal::Exact && is_witness(w, trust, config))
        .map(|w| &w.said.author)
        .collect();
    authors.sort_unstable();
    authors.dedup();
    authors.len()
}

/// Raises a fresh witness's report to its fresh weight: `fresh_boost`
/// times its author's weight, at most `max_author_weight`, halving every
/// `fresh_half_life_minutes`; never below its ordinary weight.
pub(crate) fn boost_if_fresh(
    w: &mut Weighed,
    trust: &TrustMap,
    config: &Config,
    remediated_at: Option<u64>,
    half_life_minutes: f64,
) {
    if !is_fresh_candidate(w, half_life_minutes, remediated_at) || !is_witness(w, trust, config) {
        return;
    }
    let fresh = (config.fresh_boost * w.author_weight).min(config.max_author_weight)
        * decay(w.witness_age_secs, half_life_minutes * 60.0);
    if fresh > w.weight.abs() {
        w.weight = -fresh;
        w.fresh = true;
    }
}

/// Short of the trigger, new witnesses within the window defer: their
/// fresh weight counts, but all of it together no further than the
/// suspect threshold. One trusted new report tempfails a new source's mail
/// (a legitimate sender retries and gets through once it fades); only
/// several independent ones block.
pub(crate) fn defer_on_fresh(
    weighed: &mut [Weighed],
    trust: &TrustMap,
    config: &Config,
    remediated_at: Option<u64>,
) {
    let window = config.fresh_window_minutes * 60.0;
    let ordinary: f64 = weighed
        .iter()
        .filter(|w| w.weight < 0.0)
        .map(|w| -w.weight)
        .sum();
    let mut raised = Vec::new();
    for (i, w) in weighed.iter_mut().enumerate() {
        let before = w.weight;
        if (w.witness_age_secs as f64) <= window {
            boost_if_fresh(
                w,
                trust,
                config,
                remediated_at,
                config.fresh_half_life_minutes,
            );
        }
        if w.fresh {
            raised.push((i, before));
        }
    }
    let extra: f64 = raised
        .iter()
        .filter_map(|&(i, before)| weighed.get(i).map(|w| before - w.weight))
        .sum();
    let room = (config.thresholds.suspect.abs() - ordinary).max(0.0);
    if extra > room && extra > 0.0 {
        let keep = room / extra;
        for &(i, before) in &raised {
            if let Some(w) = weighed.get_mut(i) {
                w.weight = before + (w.weight - before) * keep;
            }
        }
    }
}
