//! Scenario 4: legitimate servers sharing a /24 with spammers, and
//! forwarders whose users report the spam they relay.

use std::collections::HashSet;

use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_protocol::{Claim, EndorseCategory, Subject};
use vouch_trust::Verdict;

use super::{Context, Findings, Row, percent};
use crate::eval::{self, Snapshot, spamcop_score};
use crate::network::Network;
use crate::world::{DAY, HOUR, T0, ip};

pub fn run(context: &Context, progress: &ProgressBar) -> Findings {
    let params = &context.params;
    let config = &params.trust;
    let mut rng = ChaCha8Rng::seed_from_u64(context.seed);
    let mut net = Network::build(params, &mut rng);
    let (from, end) = (params.measure_from(), params.end());
    net.run_spam(&mut rng);

    // Mixed /24s: five spam hosts, one endorsed and one unendorsed legitimate neighbour.
    let (mut endorsed, mut unendorsed, mut neighbour_spam) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..30 {
        let block = net.new_block();
        let good = ip(block, 10);
        let endorsements = rng.random_range(1..=2);
        net.endorse_randomly(&good, endorsements, &mut rng);
        endorsed.push(good);
        unendorsed.push(ip(block, 11));
        neighbour_spam.extend((100..105).map(|h| ip(block, h)));
    }
    for subject in &neighbour_spam {
        let start = rng.random_range(T0..end);
        let source = net.spam_source(subject.clone(), start, &mut rng);
        net.report(&source, subject, &[], &HashSet::new(), &mut rng);
    }
    // Forwarders, endorsed as such by two operators, relaying spam from
    // two origins each, around the clock.
    let mut forwarders: Vec<(Subject, Vec<Subject>)> = Vec::new();
    for _ in 0..20 {
        let forwarder = net.new_block_host(25);
        for _ in 0..2 {
            let author = net.operators[rng.random_range(0..net.operators.len())];
            net.world.say(
                author,
                forwarder.clone(),
                Claim::Endorse {
                    category: EndorseCategory::Forwarder,
                },
                T0 - 10 * DAY,
                180 * DAY,
            );
        }
        let origins: Vec<Subject> = (0..2).map(|_| net.new_block_host(60)).collect();
        for origin in &origins {
            let Subject::Ip(origin_ip) = origin else {
                continue;
            };
            let source = net.mail(origin.clone(), T0, end - T0, 1500, &mut rng);
            net.report(
                &source,
                &forwarder,
                &[*origin_ip],
                &HashSet::new(),
                &mut rng,
            );
        }
        forwarders.push((forwarder, origins));
    }

    let timeline = net.world.timeline();
    let viewers = eval::viewers(&timeline, end, &net.viewers(&mut rng), config);
    let cal = &context.calibration;
    let forwarder_hosts: Vec<Subject> = forwarders.iter().map(|(f, _)| f.clone()).collect();
    let origins: Vec<Subject> = forwarders.iter().flat_map(|(_, o)| o.clone()).collect();

    // Blocked at any hour of the measured days: (Vouch's share of viewer ×
    // subject pairs, the SpamCop-style list's share of subjects).
    let blocked = |subjects: &[Subject]| -> (f64, f64) {
        let (mut vouch, mut base) = (0, 0);
        for subject in subjects {
            let (mut v_ever, mut b_ever) = (vec![false; viewers.len()], false);
            for t in (from..end).step_by(HOUR as usize) {
                let snapshot = Snapshot::take(&timeline, subject, t);
                for (viewer, ever) in viewers.iter().zip(v_ever.iter_mut()) {
                    *ever |= snapshot.verdict(viewer, config) == Verdict::Block;
                }
                b_ever |= cal.spamcop.threshold.lists(spamcop_score(&snapshot));
            }
            vouch += v_ever.iter().filter(|b| **b).count();
            base += usize::from(b_ever);
        }
        (
            percent(vouch, subjects.len() * viewers.len()),
            percent(base, subjects.len()),
        )
    };
    let (endorsed_v, endorsed_b) = blocked(&endorsed);
    let (unendorsed_v, unendorsed_b) = blocked(&unendorsed);
    let (forwarders_v, forwarders_b) = blocked(&forwarder_hosts);
    let (origins_v, origins_b) = blocked(&origins);
    progress.inc(viewers.len() as u64);
    let rows = vec![
        Row::target(
            "endorsed neighbours of spammers blocked at any hour (%)",
            endorsed_v,
            endorsed_b,
            "0",
            endorsed_v == 0.0,
        ),
        Row::info(
            "unendorsed neighbours blocked at any hour (%)",
            unendorsed_v,
            unendorsed_b,
        ),
        Row::target(
            "endorsed forwarders blocked at any hour (%)",
            forwarders_v,
            forwarders_b,
            "0",
            forwarders_v == 0.0,
        ),
        Row::info(
            "spam origins behind forwarders blocked at some hour (%)",
            origins_v,
            origins_b,
        ),
    ];
    (rows, Vec::new())
}
