//! Scenario 1: an honest network with 5%-wrong reporters.

use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_node::trust::Verdict;

use super::{Row, percent};
use crate::eval::{self, Baseline};
use crate::network::{Network, Params, spam_report};
use crate::world::{HOUR, World};

/// Hours a new spam source is followed.
const FOLLOW_HOURS: u64 = 48;

pub fn run(params: &Params, seed: u64, progress: &ProgressBar) -> Vec<Row> {
    let config = params.trust.clone();
    let baseline = Baseline::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::build(params, &mut rng);
    let now = net.run_days(&mut rng);
    let index = net.world.index(now);
    let viewers = eval::viewers(&index, &net.viewers(&mut rng), &config);

    let (mut spam_blocked, mut legit_blocked) = (0, 0);
    for viewer in &viewers {
        spam_blocked += net
            .spam
            .iter()
            .filter(|s| eval::vouch(viewer, &index, s, now, &config) == Verdict::Block)
            .count();
        legit_blocked += net
            .legit
            .iter()
            .filter(|s| eval::vouch(viewer, &index, s, now, &config) == Verdict::Block)
            .count();
        progress.inc(1);
    }
    let spam_total = net.spam.len() * viewers.len();
    let legit_total = net.legit.len() * viewers.len();
    let base_spam = net
        .spam
        .iter()
        .filter(|s| baseline.listed(&index, s, now))
        .count();
    let base_legit = net
        .legit
        .iter()
        .filter(|s| baseline.listed(&index, s, now))
        .count();

    // A new spam source appears: hour by hour, how long until it is blocked
    // by most viewers (Vouch) or listed (baseline)?
    let source = net.new_block_host(30);
    let mut fresh = World::default();
    let (mut vouch_hours, mut base_hours) = (None, None);
    let hourly = params.daily_reach / 24.0;
    for hour in 1..=FOLLOW_HOURS {
        for &r in &net.reporters {
            if rng.random_bool(hourly) {
                fresh.say(
                    net.operators[r],
                    source.clone(),
                    spam_report(1, Vec::new()),
                    now + hour * HOUR - 1,
                    7 * 24 * HOUR,
                );
            }
        }
        let at = now + hour * HOUR;
        let seen = fresh.index(at);
        let blocking = viewers
            .iter()
            .filter(|v| eval::vouch(v, &seen, &source, at, &config) == Verdict::Block)
            .count();
        if vouch_hours.is_none() && 2 * blocking >= viewers.len() {
            vouch_hours = Some(hour);
        }
        if base_hours.is_none() && baseline.listed(&seen, &source, at) {
            base_hours = Some(hour);
        }
    }
    let hours = |h: Option<u64>| h.map_or(f64::INFINITY, |h| h as f64);

    let recall = percent(spam_blocked, spam_total);
    let false_positive = percent(legit_blocked, legit_total);
    vec![
        Row::target(
            "spam sources blocked (%)",
            recall,
            percent(base_spam, net.spam.len()),
            ">= 95",
            recall >= 95.0,
        ),
        Row::target(
            "legitimate senders blocked (%)",
            false_positive,
            percent(base_legit, net.legit.len()),
            "<= 0.1",
            false_positive <= 0.1,
        ),
        Row::info(
            "hours until a new spam source is blocked",
            hours(vouch_hours),
            hours(base_hours),
        ),
        Row::info("statements in the world", net.world.len() as f64, f64::NAN),
    ]
}
