//! Scenario 6: a legitimate server is compromised for twelve hours and
//! sends spam that is reported widely; its operator fixes it and publishes
//! a remediation notice. How long until mail from it is accepted again,
//! with the notice and without it?

use std::collections::HashSet;

use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use vouch_protocol::Claim;
use vouch_trust::Verdict;

use super::{Context, Findings, Row, percent};
use crate::eval::{self, Snapshot, spamcop_score};
use crate::network::Network;
use crate::world::{DAY, HOUR};

/// Hours of compromise.
const COMPROMISED_HOURS: u64 = 12;
/// Spam messages sent while compromised.
const COMPROMISED_MESSAGES: usize = 3000;
/// Hours followed after the fix.
const FOLLOW_HOURS: u64 = 120;

pub fn run(context: &Context, progress: &ProgressBar) -> Findings {
    let params = &context.params;
    let config = &params.trust;
    let mut rng = ChaCha8Rng::seed_from_u64(context.seed);
    let mut net = Network::build(params, &mut rng);
    net.run_spam(&mut rng);
    let start = params.measure_from();
    let server = net.new_block_host(70);
    let operator = net
        .operators
        .choose(&mut rng)
        .copied()
        .unwrap_or(net.operators[0]);
    net.endorse_randomly(&server, 1, &mut rng);
    let mail = net.mail(
        server.clone(),
        start,
        COMPROMISED_HOURS * HOUR,
        COMPROMISED_MESSAGES,
        &mut rng,
    );
    net.report(&mail, &server, &[], &HashSet::new(), &mut rng);
    let fixed = start + COMPROMISED_HOURS * HOUR;
    let unremediated = net.world.timeline();
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
    let remediated = net.world.timeline();
    let viewers = eval::viewers(&remediated, fixed, &net.viewers(&mut rng), config);
    let cal = &context.calibration;

    let (mut with_fix, mut without_fix, mut base) = (None, None, None);
    let mut blocked_at_fix = 0;
    for hour in 0..=FOLLOW_HOURS {
        let at = fixed + hour * HOUR + 120;
        let blocking = |timeline| {
            let snapshot = Snapshot::take(timeline, &server, at);
            viewers
                .iter()
                .filter(|v| snapshot.verdict(v, config) == Verdict::Block)
                .count()
        };
        let now_blocking = blocking(&remediated);
        if hour == 0 {
            blocked_at_fix = now_blocking;
        }
        if with_fix.is_none() && 2 * now_blocking < viewers.len() {
            with_fix = Some(hour);
        }
        if without_fix.is_none() && 2 * blocking(&unremediated) < viewers.len() {
            without_fix = Some(hour);
        }
        let listed =
            cal.spamcop
                .threshold
                .lists(spamcop_score(&Snapshot::take(&remediated, &server, at)));
        if base.is_none() && !listed {
            base = Some(hour);
        }
    }
    progress.inc(viewers.len() as u64);
    let hours = |h: Option<u64>| h.map_or(f64::INFINITY, |h| h as f64);
    let (with_fix, without_fix, base) = (hours(with_fix), hours(without_fix), hours(base));
    let rows = vec![
        Row::info(
            "viewers blocking the server when it is fixed (%)",
            percent(blocked_at_fix, viewers.len()),
            f64::NAN,
        ),
        Row::target(
            "hours until accepted again, remediated",
            with_fix,
            base,
            "<= 3",
            with_fix <= 3.0,
        ),
        Row::target(
            "hours until accepted again, no remediation",
            without_fix,
            base,
            "<= 24",
            without_fix <= 24.0,
        ),
    ];
    (rows, Vec::new())
}
