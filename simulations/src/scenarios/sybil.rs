//! Scenario 2: a sybil region of up to 4,000 keys, joined to the honest
//! network by g attack edges, vouching for itself and endorsing its own
//! spam sources, and reporting legitimate servers.

use std::collections::HashSet;

use indicatif::ProgressBar;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_protocol::{Claim, EndorseCategory, NodeKey, Subject};
use vouch_trust::Verdict;

use super::calibration::GLOBAL_RESTART;
use super::{Context, Findings, Row, percent};
use crate::eval::{self, GlobalTrust, Snapshot, spamcop_score};
use crate::network::{Network, Params, spam_report};
use crate::world::{DAY, T0, World, node_key};

/// Population tag of sybil keys.
const SYBIL: u8 = 2;
/// Attack edge counts measured.
const ATTACK_EDGES: [usize; 4] = [0, 10, 30, 100];

pub fn run(context: &Context, progress: &ProgressBar) -> Findings {
    let params = &context.params;
    let sybils = (params.operators * 4).min(4000);
    let mut rows = Vec::new();
    for g in ATTACK_EDGES {
        let m = measure(context, sybils, g, progress);
        let metric = format!("g = {g}: wrong verdicts (%)");
        rows.push(if g == 100 {
            Row::target(
                metric,
                m.wrong,
                m.base_wrong,
                "<= 1 at g = 100, below global trust",
                m.wrong <= 1.0 && m.wrong < m.global_wrong,
            )
            .with_global(m.global_wrong)
        } else {
            Row::info(metric, m.wrong, m.base_wrong).with_global(m.global_wrong)
        });
        rows.push(Row::info(
            format!("g = {g}: sybil trust mass"),
            m.mass,
            f64::NAN,
        ));
    }
    let (whole, parts) = superposition(params, context.seed, sybils);
    let ratio = if parts > 0.0 { whole / parts } else { 0.0 };
    rows.push(Row::target(
        "sybil mass of 100 attack edges / sum over its ten 10-edge parts",
        ratio,
        f64::NAN,
        "<= 1.1 (linear in g)",
        ratio <= 1.1,
    ));
    rows.push(Row::info("sybil keys", sybils as f64, f64::NAN));
    (rows, Vec::new())
}

/// What one attack size did.
struct Measured {
    /// Sybil trust mass, mean over the viewers.
    mass: f64,
    /// Vouch's wrong verdicts, percent.
    wrong: f64,
    /// The SpamCop-style baseline's wrong verdicts, percent.
    base_wrong: f64,
    /// The global-trust baseline's wrong verdicts, percent.
    global_wrong: f64,
}

/// Linearity in g, measured without sampling noise: the sybil trust mass
/// 100 attack edges bring, against the sum of what each of its ten 10-edge
/// parts brings alone. How much an edge brings depends on which honest
/// operator the attackers won over, far more than on the engine, so
/// comparing g = 100 with one draw of g = 10 mostly measures luck; if the
/// engine let attack edges compound, the whole would exceed its parts.
fn superposition(params: &Params, seed: u64, sybils: usize) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::build(params, &mut rng);
    let viewer_keys = net.viewers(&mut rng);
    let keys = sybil_region(&mut net, sybils, &mut rng);
    let edges = attack_edges(&net, &keys, 100, &mut rng);
    let mass = |edges: &[(NodeKey, NodeKey)]| {
        let mut world = net.world.clone();
        for (honest, sybil) in edges {
            attack(&mut world, *honest, *sybil);
        }
        let timeline = world.timeline();
        let viewers = eval::viewers(&timeline, T0, &viewer_keys, &params.trust);
        viewers
            .iter()
            .map(|v| keys.iter().map(|k| v.trust.get(k)).sum::<f64>())
            .sum::<f64>()
            / viewers.len().max(1) as f64
    };
    let parts = edges.chunks(10).map(mass).sum();
    (mass(&edges), parts)
}

/// `sybils` keys, each vouching for five others at full weight.
fn sybil_region(net: &mut Network, sybils: usize, rng: &mut ChaCha8Rng) -> Vec<NodeKey> {
    let keys: Vec<NodeKey> = (0..sybils as u32).map(|i| node_key(SYBIL, i)).collect();
    for key in &keys {
        for _ in 0..5 {
            if let Some(other) = keys.choose(rng) {
                net.world.say(
                    *key,
                    Subject::Node(*other),
                    Claim::Trust { weight: 100 },
                    T0 - DAY,
                    365 * DAY,
                );
            }
        }
    }
    keys
}

/// `g` random honest operators each vouching for a random sybil.
fn attack_edges(
    net: &Network,
    keys: &[NodeKey],
    g: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<(NodeKey, NodeKey)> {
    (0..g)
        .filter_map(|_| Some((*net.operators.choose(rng)?, *keys.choose(rng)?)))
        .collect()
}

/// One attack edge: an honest operator vouches (at half weight) for a sybil.
fn attack(world: &mut World, honest: NodeKey, sybil: NodeKey) {
    world.say(
        honest,
        Subject::Node(sybil),
        Claim::Trust { weight: 50 },
        T0 - DAY,
        365 * DAY,
    );
}

/// Builds the world with `g` attack edges and measures it at the end of
/// the measured days.
fn measure(context: &Context, sybils: usize, g: usize, progress: &ProgressBar) -> Measured {
    let params = &context.params;
    let config = &params.trust;
    let mut rng = ChaCha8Rng::seed_from_u64(context.seed);
    let mut net = Network::build(params, &mut rng);
    // The same viewers for every g, so figures differ by the attack alone.
    let viewer_keys = net.viewers(&mut rng);
    let keys = sybil_region(&mut net, sybils, &mut rng);
    for (honest, sybil) in attack_edges(&net, &keys, g, &mut rng) {
        attack(&mut net.world, honest, sybil);
    }
    let end = params.end();
    net.run_spam(&mut rng);
    // The sybils' own spam sources, sending through the last day (and
    // reported by the honest operators they reach), which the sybils
    // endorse; and the legitimate servers they slander.
    let sybil_spam: Vec<Subject> = (0..20).map(|_| net.new_block_host(40)).collect();
    for subject in &sybil_spam {
        let source = net.mail(subject.clone(), end - DAY, DAY, 2000, &mut rng);
        net.report(&source, subject, &[], &HashSet::new(), &mut rng);
    }
    let targets: Vec<Subject> = net
        .legit
        .choose_multiple(&mut rng, 30)
        .map(|l| l.subject.clone())
        .collect();
    for key in &keys {
        for spam in sybil_spam.choose_multiple(&mut rng, 5) {
            net.world.say(
                *key,
                spam.clone(),
                Claim::Endorse {
                    category: EndorseCategory::LegitimateSender,
                },
                T0 - DAY,
                180 * DAY,
            );
        }
        for target in targets.choose_multiple(&mut rng, 5) {
            let when = end - rng.random_range(0..DAY);
            net.world.say(
                *key,
                target.clone(),
                spam_report(50, Vec::new()),
                when,
                7 * DAY,
            );
        }
    }
    let timeline = net.world.timeline();
    let viewers = eval::viewers(&timeline, end, &viewer_keys, config);
    let global = GlobalTrust::compute(&timeline, end, GLOBAL_RESTART);
    let cal = &context.calibration;

    let legit: Vec<Snapshot> = net
        .legit
        .iter()
        .map(|l| Snapshot::take(&timeline, &l.subject, end))
        .collect();
    let spam: Vec<Snapshot> = sybil_spam
        .iter()
        .map(|s| Snapshot::take(&timeline, s, end))
        .collect();
    let mut mass = 0.0;
    let mut wrong = 0;
    for viewer in &viewers {
        mass += keys.iter().map(|k| viewer.trust.get(k)).sum::<f64>();
        wrong += legit
            .iter()
            .filter(|s| s.verdict(viewer, config) == Verdict::Block)
            .count();
        wrong += spam
            .iter()
            .filter(|s| s.verdict(viewer, config) != Verdict::Block)
            .count();
        progress.inc(1);
    }
    let judged = legit.len() + spam.len();
    let baseline_wrong = |lists: &dyn Fn(&Snapshot) -> bool| {
        legit.iter().filter(|s| lists(s)).count() + spam.iter().filter(|s| !lists(s)).count()
    };
    let base_wrong = baseline_wrong(&|s| cal.spamcop.threshold.lists(spamcop_score(s)));
    let global_wrong = baseline_wrong(&|s| cal.global.threshold.lists(global.score(s)));
    let n = viewers.len().max(1) as f64;
    Measured {
        mass: mass / n,
        wrong: percent(wrong, judged * viewers.len()),
        base_wrong: percent(base_wrong, judged),
        global_wrong: percent(global_wrong, judged),
    }
}
