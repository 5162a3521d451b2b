//! Scenario 5: an attacker with a fresh key (nobody vouches for it) reports
//! legitimate servers and endorses spam; then someone vouches for it; then it
//! rotates to a fresh key again, as a whitewasher does every epoch.

use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use vouch_protocol::{Claim, EndorseCategory, NodeKey, Subject};
use vouch_trust::{self as trust, Said, SubjectEvidence};

use super::{Context, Findings, Row};
use crate::eval;
use crate::network::{Network, spam_report};
use crate::world::{DAY, T0, Timeline, node_key, said};

/// Population tag of whitewashers' keys.
const FRESH: u8 = 3;

pub fn run(context: &Context, progress: &ProgressBar) -> Findings {
    let params = &context.params;
    let config = params.trust.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(context.seed);
    let mut net = Network::build(params, &mut rng);
    let sources = net.run_spam(&mut rng);
    let now = params.end();
    let targets: Vec<Subject> = net
        .legit
        .choose_multiple(&mut rng, 10)
        .map(|l| l.subject.clone())
        .collect();
    let spam: Vec<Subject> = sources
        .choose_multiple(&mut rng, 10)
        .map(|s| s.subject.clone())
        .collect();
    let viewer_keys = net.viewers(&mut rng);
    let subjects: Vec<Subject> = targets.iter().chain(&spam).cloned().collect();
    let attack = |net: &mut Network, key: NodeKey| {
        for t in &targets {
            net.world.say(
                key,
                t.clone(),
                spam_report(100, Vec::new()),
                now - 1,
                7 * DAY,
            );
        }
        for s in &spam {
            let claim = Claim::Endorse {
                category: EndorseCategory::LegitimateSender,
            };
            net.world.say(key, s.clone(), claim, now - 1, 180 * DAY);
        }
    };

    // Epoch 1: a fresh key nobody vouches for.
    let first = node_key(FRESH, 1);
    attack(&mut net, first);
    let fresh = influence(
        &net.world.timeline(),
        first,
        &viewer_keys,
        &subjects,
        now,
        &config,
    );
    // A blocklist counts every reporter's reports in full, keyed or not.
    let base = 100.0;
    progress.inc(1);

    // An honest operator is persuaded to vouch for it.
    let voucher = net.operators.choose(&mut rng).copied().unwrap_or(first);
    net.world.say(
        voucher,
        Subject::Node(first),
        Claim::Trust { weight: 50 },
        T0,
        365 * DAY,
    );
    let vouched = influence(
        &net.world.timeline(),
        first,
        &viewer_keys,
        &subjects,
        now,
        &config,
    );
    progress.inc(1);

    // Epoch 2: it rotates to a fresh key (the vouch stays with the old one).
    let second = node_key(FRESH, 2);
    attack(&mut net, second);
    let rotated = influence(
        &net.world.timeline(),
        second,
        &viewer_keys,
        &subjects,
        now,
        &config,
    );
    progress.inc(1);

    let rows = vec![
        Row::target(
            "fresh unvouched key: score influence (baseline: % of its reports counted)",
            fresh,
            base,
            "0",
            fresh == 0.0,
        ),
        Row::info(
            "influence once one honest operator vouches for it",
            vouched,
            base,
        ),
        Row::target(
            "influence after rotating to a fresh key",
            rotated,
            base,
            "0",
            rotated == 0.0,
        ),
    ];
    (rows, Vec::new())
}

/// Mean over viewers of the total absolute score change that `attacker`'s
/// statements cause on `subjects`.
fn influence(
    timeline: &Timeline,
    attacker: NodeKey,
    viewer_keys: &[NodeKey],
    subjects: &[Subject],
    now: u64,
    config: &trust::Config,
) -> f64 {
    let viewers = eval::viewers(timeline, now, viewer_keys, config);
    let mut total = 0.0;
    for viewer in &viewers {
        for subject in subjects {
            let with = said(&timeline.about(subject, now));
            let without: Vec<Said> = with
                .iter()
                .filter(|s| s.author != attacker)
                .cloned()
                .collect();
            let score = |exact: &[Said]| {
                let evidence = SubjectEvidence {
                    exact,
                    ..SubjectEvidence::default()
                };
                trust::reputation(subject, &evidence, &viewer.trust, now, config).score
            };
            total += (score(&with) - score(&without)).abs();
        }
    }
    total / viewers.len().max(1) as f64
}
