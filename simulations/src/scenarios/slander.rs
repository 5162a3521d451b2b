//! Scenario 3: camouflaged attackers inside the honest web of trust (3% of
//! operators) report the spam that reaches them as often as an honest
//! operator does, honestly a fraction f of the time and otherwise as a
//! report against one of a handful of small legitimate servers (no
//! endorsements). Then the same attackers turned eager: they report
//! every spam message's source that reaches them, five times as often as
//! anyone honest.

use std::collections::HashSet;

use indicatif::ProgressBar;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use vouch_protocol::Subject;
use vouch_trust::Verdict;

use super::calibration::GLOBAL_RESTART;
use super::{Context, Findings, Row, percent};
use crate::eval::{self, GlobalTrust, Snapshot, spamcop_score};
use crate::network::{Network, spam_report};
use crate::world::{HOUR, MINUTE};

/// Honesty fractions measured.
const CAMOUFLAGE: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 0.95];

pub fn run(context: &Context, progress: &ProgressBar) -> Findings {
    let mut rows = Vec::new();
    let (mut worst, mut worst_base, mut worst_global) = (0.0f64, 0.0f64, 0.0f64);
    let camouflaged = context.params.report_probability;
    for f in CAMOUFLAGE {
        let m = measure(context, f, camouflaged, progress);
        worst = worst.max(m.vouch);
        worst_base = worst_base.max(m.spamcop);
        worst_global = worst_global.max(m.global);
        rows.push(
            Row::info(
                format!("f = {f:.2}: slandered servers blocked, hour by hour (%)"),
                m.vouch,
                m.spamcop,
            )
            .with_global(m.global),
        );
    }
    rows.push(
        Row::target(
            "worst case over f (%)",
            worst,
            worst_base,
            "<= 1, below global trust",
            worst <= 1.0 && worst < worst_global,
        )
        .with_global(worst_global),
    );
    let (mut eager, mut eager_base, mut eager_global) = (0.0f64, 0.0f64, 0.0f64);
    for f in CAMOUFLAGE {
        let m = measure(context, f, 1.0, progress);
        eager = eager.max(m.vouch);
        eager_base = eager_base.max(m.spamcop);
        eager_global = eager_global.max(m.global);
    }
    rows.push(
        Row::info(
            "eager attackers (reporting every contact), worst case over f (%)",
            eager,
            eager_base,
        )
        .with_global(eager_global),
    );
    (rows, Vec::new())
}

/// Share of (victim, hour) pairs blocked over the measured days, percent.
struct Measured {
    vouch: f64,
    spamcop: f64,
    global: f64,
}

/// Attackers report a source that reaches them with probability `eagerness`.
fn measure(context: &Context, f: f64, eagerness: f64, progress: &ProgressBar) -> Measured {
    let params = &context.params;
    let config = &params.trust;
    let mut rng = ChaCha8Rng::seed_from_u64(context.seed);
    let mut net = Network::build(params, &mut rng);
    let attackers: HashSet<usize> = (0..net.operators.len())
        .collect::<Vec<_>>()
        .choose_multiple(&mut rng, params.operators * 3 / 100)
        .copied()
        .collect();
    let victims: Vec<Subject> = (0..20).map(|_| net.new_block_host(50)).collect();
    let sources = net.spam_traffic(crate::world::T0, params.end(), &mut rng);
    let delay = Exp::new(1.0 / (params.report_delay_minutes * MINUTE as f64)).ok();
    for source in &sources {
        net.report(source, &source.subject, &[], &attackers, &mut rng);
        for &(op, at) in source
            .contacts
            .iter()
            .filter(|(op, _)| attackers.contains(op))
        {
            if !rng.random_bool(eagerness) {
                continue;
            }
            let subject = if rng.random_bool(f) {
                source.subject.clone()
            } else {
                victims
                    .choose(&mut rng)
                    .cloned()
                    .unwrap_or_else(|| source.subject.clone())
            };
            let wait = delay.map_or(0.0, |d| d.sample(&mut rng)) as u64;
            let when = at + wait;
            net.world.say(
                net.operators[op],
                subject,
                spam_report(10, Vec::new()),
                when - when % MINUTE,
                params.report_ttl,
            );
        }
    }
    let timeline = net.world.timeline();
    let honest_viewers: Vec<_> = net
        .viewers(&mut rng)
        .into_iter()
        .filter(|k| !attackers.iter().any(|&a| net.operators[a] == *k))
        .collect();
    let viewers = eval::viewers(&timeline, params.end(), &honest_viewers, config);
    let global = GlobalTrust::compute(&timeline, params.end(), GLOBAL_RESTART);
    let cal = &context.calibration;
    let (mut blocked, mut spamcop, mut global_listed, mut moments) = (0, 0, 0, 0);
    for t in (params.measure_from()..params.end()).step_by(HOUR as usize) {
        for victim in &victims {
            let snapshot = Snapshot::take(&timeline, victim, t);
            moments += 1;
            blocked += viewers
                .iter()
                .filter(|v| snapshot.verdict(v, config) == Verdict::Block)
                .count();
            spamcop += usize::from(cal.spamcop.threshold.lists(spamcop_score(&snapshot)));
            global_listed += usize::from(cal.global.threshold.lists(global.score(&snapshot)));
        }
    }
    progress.inc(1);
    Measured {
        vouch: percent(blocked, moments * viewers.len()),
        spamcop: percent(spamcop, moments),
        global: percent(global_listed, moments),
    }
}
