//! Scenario 4: legitimate servers sharing a /24 with spammers, and
//! forwarders whose users report the spam they relay.

use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vouch_node::trust::Verdict;
use vouch_protocol::{Claim, EndorseCategory, Subject};

use super::{Row, percent};
use crate::eval::{self, Baseline};
use crate::network::{Network, Params, spam_report};
use crate::world::{DAY, T0, ip};

pub fn run(params: &Params, seed: u64, progress: &ProgressBar) -> Vec<Row> {
    let config = params.trust.clone();
    let baseline = Baseline::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::build(params, &mut rng);

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
    // Forwarders, endorsed as such by two operators, relaying spam from two origins each.
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
        let origins = (0..2).map(|_| net.new_block_host(60)).collect();
        forwarders.push((forwarder, origins));
    }

    let mut sources = net.spam.clone();
    sources.extend(neighbour_spam.iter().cloned());
    for day in 0..params.days {
        net.spam_day(day, &sources, &mut rng);
        for (forwarder, origins) in &forwarders {
            for origin in origins {
                let Subject::Ip(origin_ip) = origin else {
                    continue;
                };
                for &r in &net.reporters.clone() {
                    if rng.random_bool(params.daily_reach / 2.0) {
                        let at = T0 + day * DAY + rng.random_range(0..DAY);
                        net.world.say(
                            net.operators[r],
                            forwarder.clone(),
                            spam_report(1, vec![*origin_ip]),
                            at,
                            7 * DAY,
                        );
                    }
                }
            }
        }
    }
    let now = T0 + params.days * DAY;
    let index = net.world.index(now);
    let viewers = eval::viewers(&index, &net.viewers(&mut rng), &config);
    let forwarder_hosts: Vec<Subject> = forwarders.iter().map(|(f, _)| f.clone()).collect();
    let origins: Vec<Subject> = forwarders.iter().flat_map(|(_, o)| o.clone()).collect();

    let blocked = |subjects: &[Subject]| -> (usize, usize) {
        let vouch = viewers
            .iter()
            .map(|v| {
                subjects
                    .iter()
                    .filter(|s| eval::vouch(v, &index, s, now, &config) == Verdict::Block)
                    .count()
            })
            .sum();
        let base = subjects
            .iter()
            .filter(|s| baseline.listed(&index, s, now))
            .count();
        (vouch, base)
    };
    let n = viewers.len();
    let (endorsed_v, endorsed_b) = blocked(&endorsed);
    let (unendorsed_v, unendorsed_b) = blocked(&unendorsed);
    let (forwarders_v, forwarders_b) = blocked(&forwarder_hosts);
    let (origins_v, origins_b) = blocked(&origins);
    progress.inc(n as u64);
    vec![
        Row::target(
            "endorsed neighbours of spammers blocked (%)",
            percent(endorsed_v, endorsed.len() * n),
            percent(endorsed_b, endorsed.len()),
            "0",
            endorsed_v == 0,
        ),
        Row::info(
            "unendorsed neighbours blocked (%)",
            percent(unendorsed_v, unendorsed.len() * n),
            percent(unendorsed_b, unendorsed.len()),
        ),
        Row::target(
            "endorsed forwarders blocked (%)",
            percent(forwarders_v, forwarder_hosts.len() * n),
            percent(forwarders_b, forwarder_hosts.len()),
            "0",
            forwarders_v == 0,
        ),
        Row::info(
            "spam origins behind forwarders blocked (%)",
            percent(origins_v, origins.len() * n),
            percent(origins_b, origins.len()),
        ),
    ]
}
