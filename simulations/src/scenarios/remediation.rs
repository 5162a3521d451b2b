//! Scenario 6: a legitimate server is compromised for twelve hours and
//! reported widely; its operator fixes it and publishes a remediation.
//! How long until mail from it is accepted again?

use indicatif::ProgressBar;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_node::trust::Verdict;
use vouch_protocol::Claim;

use super::Row;
use crate::eval::{self, Baseline};
use crate::network::{Network, Params, spam_report};
use crate::world::{DAY, HOUR};

/// Hours of compromise.
const COMPROMISED_HOURS: u64 = 12;
/// Hours followed after the fix.
const FOLLOW_HOURS: u64 = 120;

pub fn run(params: &Params, seed: u64, progress: &ProgressBar) -> Vec<Row> {
    let config = params.trust.clone();
    let baseline = Baseline::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::build(params, &mut rng);
    let start = net.run_days(&mut rng);
    let server = net.new_block_host(70);
    let operator = net
        .operators
        .choose(&mut rng)
        .copied()
        .unwrap_or(net.operators[0]);
    net.endorse_randomly(&server, 1, &mut rng);
    for hour in 0..COMPROMISED_HOURS {
        for &r in &net.reporters {
            if rng.random_bool(0.1) {
                let at = start + hour * HOUR + rng.random_range(0..HOUR);
                net.world.say(
                    net.operators[r],
                    server.clone(),
                    spam_report(20, Vec::new()),
                    at,
                    7 * DAY,
                );
            }
        }
    }
    let fixed = start + COMPROMISED_HOURS * HOUR;
    let unremediated = net.world.index(fixed + FOLLOW_HOURS * HOUR);
    let note = "compromised webmail account closed, passwords reset".to_owned();
    net.world.say(
        operator,
        server.clone(),
        Claim::Remediate {
            remediated_at: fixed,
            note,
        },
        fixed + 60,
        30 * DAY,
    );
    let viewer_keys = net.viewers(&mut rng);
    let viewers = eval::viewers(&net.world.index(fixed), &viewer_keys, &config);

    let (mut with_fix, mut without_fix, mut base) = (None, None, None);
    let mut blocked_at_fix = 0;
    for hour in 0..=FOLLOW_HOURS {
        let at = fixed + hour * HOUR + 120;
        let index = net.world.index(at);
        let blocking = |idx| {
            viewers
                .iter()
                .filter(|v| eval::vouch(v, idx, &server, at, &config) == Verdict::Block)
                .count()
        };
        let now_blocking = blocking(&index);
        if hour == 0 {
            blocked_at_fix = now_blocking;
        }
        if with_fix.is_none() && 2 * now_blocking < viewers.len() {
            with_fix = Some(hour);
        }
        if without_fix.is_none() && 2 * blocking(&unremediated) < viewers.len() {
            without_fix = Some(hour);
        }
        if base.is_none() && !baseline.listed(&index, &server, at) {
            base = Some(hour);
        }
    }
    progress.inc(viewers.len() as u64);
    let hours = |h: Option<u64>| h.map_or(f64::INFINITY, |h| h as f64);
    let (with_fix, without_fix, base) = (hours(with_fix), hours(without_fix), hours(base));
    vec![
        Row::info(
            "viewers blocking the server when it is fixed (%)",
            super::percent(blocked_at_fix, viewers.len()),
            f64::NAN,
        ),
        Row::target(
            "hours until accepted again, remediated",
            with_fix,
            base,
            "< baseline",
            with_fix < base,
        ),
        Row::info(
            "hours until accepted again, no remediation",
            without_fix,
            base,
        ),
    ]
}
