//! Scenario 2: a sybil region of up to 4,000 keys, joined to the honest
//! network by g attack edges, vouching for itself and its spam sources and
//! reporting legitimate servers.

use indicatif::ProgressBar;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_node::trust::{self, Verdict};
use vouch_protocol::{Claim, EndorseCategory, NodeKey, Subject};

use super::{Row, percent};
use crate::eval::{self, Baseline};
use crate::network::{Network, Params, spam_report};
use crate::world::{DAY, T0, node_key};

/// Population tag of sybil keys.
const SYBIL: u8 = 2;
/// Attack edge counts measured.
const ATTACK_EDGES: [usize; 4] = [0, 10, 30, 100];

pub fn run(params: &Params, seed: u64, progress: &ProgressBar) -> Vec<Row> {
    let sybils = (params.operators * 4).min(4000);
    let mut rows = Vec::new();
    let mut mass_at = Vec::new();
    for g in ATTACK_EDGES {
        let (mass, wrong, base_wrong) = measure(params, seed, sybils, g, progress);
        mass_at.push((g, mass));
        let metric = format!("g = {g}: wrong verdicts (%)");
        rows.push(if g == 100 {
            Row::target(metric, wrong, base_wrong, "<= 1 at g = 100", wrong <= 1.0)
        } else {
            Row::info(metric, wrong, base_wrong)
        });
        rows.push(Row::info(
            format!("g = {g}: sybil trust mass"),
            mass,
            f64::NAN,
        ));
    }
    let mass = |g| {
        mass_at
            .iter()
            .find(|(x, _)| *x == g)
            .map_or(0.0, |(_, m)| *m)
    };
    let ratio = if mass(10) > 0.0 {
        mass(100) / mass(10)
    } else {
        0.0
    };
    rows.push(Row::target(
        "sybil mass ratio g=100 / g=10",
        ratio,
        f64::NAN,
        "<= 10 (linear)",
        ratio <= 10.0 * 1.1,
    ));
    rows.push(Row::info("sybil keys", sybils as f64, f64::NAN));
    rows
}

/// Returns (mean sybil trust mass, Vouch wrong-verdict %, baseline wrong-verdict %).
fn measure(
    params: &Params,
    seed: u64,
    sybils: usize,
    g: usize,
    progress: &ProgressBar,
) -> (f64, f64, f64) {
    let config = trust::Config::default();
    let baseline = Baseline::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::build(params, &mut rng);
    let keys: Vec<NodeKey> = (0..sybils as u32).map(|i| node_key(SYBIL, i)).collect();
    let at = T0 - DAY;
    for key in &keys {
        for _ in 0..5 {
            if let Some(other) = keys.choose(&mut rng) {
                net.world.say(
                    *key,
                    Subject::Node(*other),
                    Claim::Trust { weight: 100 },
                    at,
                    365 * DAY,
                );
            }
        }
    }
    for _ in 0..g {
        let (Some(honest), Some(sybil)) = (net.operators.choose(&mut rng), keys.choose(&mut rng))
        else {
            continue;
        };
        net.world.say(
            *honest,
            Subject::Node(*sybil),
            Claim::Trust { weight: 50 },
            at,
            365 * DAY,
        );
    }
    // The sybils' own spam sources (which also spam honest operators) and
    // the legitimate servers they slander.
    let sybil_spam: Vec<Subject> = (0..20).map(|_| net.new_block_host(40)).collect();
    let targets: Vec<Subject> = net.legit.choose_multiple(&mut rng, 30).cloned().collect();
    for key in &keys {
        for spam in sybil_spam.choose_multiple(&mut rng, 5) {
            net.world.say(
                *key,
                spam.clone(),
                Claim::Endorse {
                    category: EndorseCategory::LegitimateSender,
                },
                at,
                180 * DAY,
            );
        }
        for target in targets.choose_multiple(&mut rng, 5) {
            let when = T0 + params.days * DAY - rng.random_range(0..DAY);
            net.world.say(
                *key,
                target.clone(),
                spam_report(50, Vec::new()),
                when,
                7 * DAY,
            );
        }
    }
    let mut all_spam = net.spam.clone();
    all_spam.extend(sybil_spam.iter().cloned());
    for day in 0..params.days {
        net.spam_day(day, &all_spam, &mut rng);
    }
    let now = T0 + params.days * DAY;
    let index = net.world.index(now);
    let viewers = eval::viewers(&index, &net.viewers(&mut rng), &config);

    let mut mass = 0.0;
    let mut wrong = 0;
    for viewer in &viewers {
        mass += keys.iter().map(|k| viewer.trust.get(k)).sum::<f64>();
        wrong += net
            .legit
            .iter()
            .filter(|s| eval::vouch(viewer, &index, s, now, &config) == Verdict::Block)
            .count();
        wrong += sybil_spam
            .iter()
            .filter(|s| eval::vouch(viewer, &index, s, now, &config) != Verdict::Block)
            .count();
        progress.inc(1);
    }
    let judged = net.legit.len() + sybil_spam.len();
    let base_wrong = net
        .legit
        .iter()
        .filter(|s| baseline.listed(&index, s, now))
        .count()
        + sybil_spam
            .iter()
            .filter(|s| !baseline.listed(&index, s, now))
            .count();
    (
        mass / viewers.len().max(1) as f64,
        percent(wrong, judged * viewers.len()),
        percent(base_wrong, judged),
    )
}
