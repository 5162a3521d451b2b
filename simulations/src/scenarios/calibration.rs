//! The honest world every scenario's baselines are calibrated on, and the
//! calibration itself: each baseline's threshold set where it blocks at
//! most 0.1% of legitimate senders (the false-positive target Vouch is
//! held to), and its operating curve.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vouch_protocol::NodeKey;

use super::{Curve, par_map};
use crate::eval::{GlobalTrust, Snapshot, Threshold, spamcop_score};
use crate::network::{Network, Params, SpamSource};
use crate::world::{HOUR, Timeline};

/// Share of legitimate senders a baseline may block, in percent.
pub const LEGIT_BUDGET_PERCENT: f64 = 0.1;
/// Restart probability of the global trust vector (PageRank's usual 0.15).
pub const GLOBAL_RESTART: f64 = 0.15;

/// The honest world: operators, legitimate senders, and spam from the
/// warm-up through the measured days, with honest reports.
pub struct HonestWorld {
    /// The network.
    pub net: Network,
    /// Spam sources whose first message falls in the measured days.
    pub measured: Vec<SpamSource>,
    /// Everything said, in time order.
    pub timeline: Timeline,
    /// The sampled viewers.
    pub viewer_keys: Vec<NodeKey>,
}

impl HonestWorld {
    /// Builds it from the seed.
    pub fn build(params: &Params, seed: u64) -> HonestWorld {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut net = Network::build(params, &mut rng);
        let sources = net.run_spam(&mut rng);
        let viewer_keys = net.viewers(&mut rng);
        let from = params.measure_from();
        let measured = sources.into_iter().filter(|s| s.first() >= from).collect();
        HonestWorld {
            timeline: net.world.timeline(),
            net,
            measured,
            viewer_keys,
        }
    }

    /// The moments a legitimate sender is judged at: every hour of the
    /// measured days, and every statement about it made in them (the
    /// moments its verdict can get worse).
    pub fn legit_moments(&self, legit: usize) -> Vec<u64> {
        let p = &self.net.params;
        let (from, end) = (p.measure_from(), p.end());
        let subject = &self.net.legit[legit].subject;
        let mut times: Vec<u64> = (from..end).step_by(HOUR as usize).collect();
        times.extend(
            self.timeline
                .times_about(subject)
                .filter(|t| (from..end).contains(t)),
        );
        times.sort_unstable();
        times.dedup();
        times
    }

    /// The moments a spam source is judged at: its messages' arrivals and
    /// the reports about it, from its first message on.
    pub fn spam_moments(&self, source: &SpamSource) -> Vec<u64> {
        let first = source.first();
        let mut times = source.messages.clone();
        times.extend(
            self.timeline
                .times_about(&source.subject)
                .filter(|&t| t >= first),
        );
        times.sort_unstable();
        times.dedup();
        times
    }
}

/// One baseline's calibration.
#[derive(Debug, Clone)]
pub struct Calibrated {
    /// Its threshold at the false-positive budget.
    pub threshold: Threshold,
    /// Spam messages it stops there, percent.
    pub stopped: f64,
    /// Legitimate senders it blocks there (at any moment), percent.
    pub legit_blocked: f64,
    /// Median minutes from a source's first message to its listing
    /// (infinity when most are never listed).
    pub median_minutes: f64,
    /// Its operating curve.
    pub curve: Curve,
}

impl Calibrated {
    /// Spam messages it stops, percent, at its best point that blocks at
    /// most `legit_blocked` percent of legitimate senders (0 when none
    /// does): the baseline at another judge's false-positive rate.
    pub fn stopped_at_most(&self, legit_blocked: f64) -> f64 {
        self.curve
            .points
            .iter()
            .filter(|&&(legit, _, _)| legit <= legit_blocked + 1e-9)
            .map(|&(_, stopped, _)| stopped)
            .fold(0.0, f64::max)
    }
}

/// Both baselines, calibrated on the honest world.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The SpamCop-style list.
    pub spamcop: Calibrated,
    /// The global trust-weighted count.
    pub global: Calibrated,
}

/// Scores of one baseline over the honest world: each spam message's
/// score at its arrival (with its source), and each legitimate sender's
/// highest score in the measured days.
struct Scores {
    spam: Vec<Vec<(u64, f64)>>,
    legit_max: Vec<f64>,
}

impl Calibration {
    /// Calibrates both baselines on the honest world of `params` and `seed`.
    pub fn compute(world: &HonestWorld) -> Calibration {
        let end = world.net.params.end();
        let global = GlobalTrust::compute(&world.timeline, end, GLOBAL_RESTART);
        let spamcop_scores = scores(world, spamcop_score);
        let global_scores = scores(world, |s| global.score(s));
        Calibration {
            spamcop: calibrate("SpamCop-style", &spamcop_scores),
            global: calibrate("global trust", &global_scores),
        }
    }
}

fn scores(world: &HonestWorld, score: impl Fn(&Snapshot) -> f64 + Sync) -> Scores {
    let spam = par_map(&world.measured, |source| {
        source
            .messages
            .iter()
            .map(|&t| {
                (
                    t,
                    score(&Snapshot::take(&world.timeline, &source.subject, t)),
                )
            })
            .collect()
    });
    let indices: Vec<usize> = (0..world.net.legit.len()).collect();
    let legit_max = par_map(&indices, |&i| {
        let subject = &world.net.legit[i].subject;
        world
            .legit_moments(i)
            .into_iter()
            .map(|t| score(&Snapshot::take(&world.timeline, subject, t)))
            .fold(0.0, f64::max)
    });
    Scores { spam, legit_max }
}

fn calibrate(name: &'static str, scores: &Scores) -> Calibrated {
    let mut spam: Vec<f64> = scores.spam.iter().flatten().map(|&(_, s)| s).collect();
    spam.sort_by(f64::total_cmp);
    let messages = spam.len().max(1) as f64;
    let stopped_at = |threshold: Threshold| {
        let below = spam.partition_point(|&s| !threshold.lists(s));
        100.0 * (spam.len() - below) as f64 / messages
    };
    let legit = scores.legit_max.len().max(1) as f64;
    let listed_at = |threshold: Threshold| {
        100.0
            * scores
                .legit_max
                .iter()
                .filter(|&&s| threshold.lists(s))
                .count() as f64
            / legit
    };
    // Candidate thresholds: just above each legitimate sender's peak, so
    // every step of the curve is one more legitimate sender spared.
    let mut peaks: Vec<f64> = scores
        .legit_max
        .iter()
        .copied()
        .filter(|&s| s > 0.0)
        .collect();
    peaks.sort_by(f64::total_cmp);
    peaks.dedup();
    let mut candidates: Vec<Threshold> = vec![Threshold(f64::MIN_POSITIVE)];
    candidates.extend(peaks.iter().map(|&p| Threshold(p * (1.0 + 1e-9) + 1e-12)));
    let points: Vec<(f64, f64, f64)> = candidates
        .iter()
        .map(|&t| (listed_at(t), stopped_at(t), t.0))
        .collect();
    let threshold = candidates
        .iter()
        .copied()
        .find(|&t| listed_at(t) <= LEGIT_BUDGET_PERCENT)
        .unwrap_or(Threshold(f64::INFINITY));
    let mut minutes: Vec<f64> = scores
        .spam
        .iter()
        .map(|messages| {
            let first = messages.first().map_or(0, |&(t, _)| t);
            messages
                .iter()
                .find(|&&(_, s)| threshold.lists(s))
                .map_or(f64::INFINITY, |&(t, _)| (t - first) as f64 / 60.0)
        })
        .collect();
    Calibrated {
        threshold,
        stopped: stopped_at(threshold),
        legit_blocked: listed_at(threshold),
        median_minutes: super::quantile(&mut minutes, 0.5),
        curve: Curve { name, points },
    }
}
