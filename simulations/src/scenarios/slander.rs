//! Scenario 3: camouflaged attackers inside the honest web of trust report
//! spam honestly a fraction f of the time and otherwise slander a handful
//! of small legitimate servers (no endorsements).

use std::collections::HashSet;

use indicatif::ProgressBar;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_node::trust::Verdict;
use vouch_protocol::Subject;

use super::{Row, percent};
use crate::eval::{self, Baseline};
use crate::network::{Network, Params, spam_report};
use crate::world::{DAY, T0};

/// Honesty fractions measured.
const CAMOUFLAGE: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 0.95];

pub fn run(params: &Params, seed: u64, progress: &ProgressBar) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut worst: f64 = 0.0;
    let mut worst_base: f64 = 0.0;
    for f in CAMOUFLAGE {
        let (wrong, base) = measure(params, seed, f, progress);
        worst = worst.max(wrong);
        worst_base = worst_base.max(base);
        rows.push(Row::info(
            format!("f = {f:.2}: slandered servers blocked (%)"),
            wrong,
            base,
        ));
    }
    rows.push(Row::target(
        "worst case over f (%)",
        worst,
        worst_base,
        "<= 1",
        worst <= 1.0,
    ));
    rows
}

/// Returns (Vouch %, baseline %) of slandered servers blocked.
fn measure(params: &Params, seed: u64, f: f64, progress: &ProgressBar) -> (f64, f64) {
    let config = params.trust.clone();
    let baseline = Baseline::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::build(params, &mut rng);
    let attackers: Vec<usize> = (0..net.operators.len())
        .collect::<Vec<_>>()
        .choose_multiple(&mut rng, params.operators * 3 / 100)
        .copied()
        .collect();
    let attacking: HashSet<usize> = attackers.iter().copied().collect();
    net.reporters.retain(|r| !attacking.contains(r));
    let victims: Vec<Subject> = (0..20).map(|_| net.new_block_host(50)).collect();
    let sources = net.spam.clone();
    for day in 0..params.days {
        net.spam_day(day, &sources, &mut rng);
        for &a in &attackers {
            for source in &sources {
                if !rng.random_bool(params.daily_reach) {
                    continue;
                }
                let at = T0 + day * DAY + rng.random_range(0..DAY);
                let subject = if rng.random_bool(f) {
                    source.clone()
                } else {
                    victims
                        .choose(&mut rng)
                        .cloned()
                        .unwrap_or_else(|| source.clone())
                };
                net.world.say(
                    net.operators[a],
                    subject,
                    spam_report(10, Vec::new()),
                    at,
                    7 * DAY,
                );
            }
        }
    }
    let now = T0 + params.days * DAY;
    let index = net.world.index(now);
    let honest_viewers: Vec<_> = net
        .viewers(&mut rng)
        .into_iter()
        .filter(|k| !attackers.iter().any(|&a| net.operators[a] == *k))
        .collect();
    let viewers = eval::viewers(&index, &honest_viewers, &config);
    let mut blocked = 0;
    for viewer in &viewers {
        blocked += victims
            .iter()
            .filter(|v| eval::vouch(viewer, &index, v, now, &config) == Verdict::Block)
            .count();
        progress.inc(1);
    }
    let base = victims
        .iter()
        .filter(|v| baseline.listed(&index, v, now))
        .count();
    (
        percent(blocked, victims.len() * viewers.len()),
        percent(base, victims.len()),
    )
}
