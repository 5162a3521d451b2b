//! The simulated population and its mail: honest operators on a
//! small-world trust graph, legitimate senders of every size, and spam
//! sources with short, heavy-tailed lives whose messages reach random
//! operators, some of whom report them minutes later.
//!
//! Every parameter of the world is in [`Params`], with where its value
//! comes from.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal};
use vouch_protocol::{Claim, EndorseCategory, Evidence, NodeKey, ReportCategory, Subject};
use vouch_trust as trust;

use crate::world::{DAY, MINUTE, T0, World, ip, node_key};

/// Population tag of honest operators' keys.
pub const HONEST: u8 = 1;

/// Size and behaviour of the simulated world.
#[derive(Debug, Clone)]
pub struct Params {
    /// Honest operators.
    pub operators: usize,
    /// Honest operators whose view is computed (a sample: each view is a
    /// personalised trust computation over the whole graph).
    pub viewers: usize,
    /// Days of mail before the measured days, so reputation is in steady
    /// state when measuring starts.
    pub warmup_days: u64,
    /// Days measured.
    pub days: u64,
    /// New spam sources a day.
    pub spam_per_day: f64,
    /// Median life of a spam source, first to last message, in minutes
    /// (log-normal; 81% of spam-only servers send on one day at most).
    pub spam_life_median_minutes: f64,
    /// Log-normal σ of the life: with a 3 h median, 90% live under a day.
    pub spam_life_sigma: f64,
    /// Median messages a spam source sends (log-normal), each to a random operator.
    pub spam_messages_median: f64,
    /// Log-normal σ of the message count.
    pub spam_messages_sigma: f64,
    /// Chance an operator that receives spam from a source reports it.
    pub report_probability: f64,
    /// Mean delay from receiving spam to reporting it, minutes (exponential).
    pub report_delay_minutes: f64,
    /// Share of reports that are wrong: about a legitimate sender instead.
    pub report_error: f64,
    /// Legitimate senders.
    pub legit_senders: usize,
    /// How long a report stays valid.
    pub report_ttl: u64,
    /// The engine's settings every viewer scores with (the node's defaults
    /// unless `vouch-sim --config` names a node configuration file).
    pub trust: trust::Config,
}

impl Params {
    /// The full-size run.
    pub fn full() -> Params {
        Params {
            operators: 1000,
            viewers: 50,
            warmup_days: 1,
            days: 2,
            spam_per_day: 200.0,
            spam_life_median_minutes: 180.0,
            spam_life_sigma: 1.62,
            spam_messages_median: 200.0,
            spam_messages_sigma: 1.0,
            report_probability: 0.2,
            report_delay_minutes: 10.0,
            report_error: 0.05,
            legit_senders: 1000,
            report_ttl: 7 * DAY,
            trust: trust::Config::default(),
        }
    }

    /// A small run for smoke tests.
    pub fn small() -> Params {
        Params {
            operators: 200,
            viewers: 12,
            spam_per_day: 60.0,
            legit_senders: 200,
            ..Params::full()
        }
    }

    /// When measuring starts.
    pub fn measure_from(&self) -> u64 {
        T0 + self.warmup_days * DAY
    }

    /// When the simulated mail stops.
    pub fn end(&self) -> u64 {
        T0 + (self.warmup_days + self.days) * DAY
    }
}

/// How big a legitimate sender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A few messages a day, 0–2 endorsements (70% of senders).
    Small,
    /// Tens to hundreds a day, 1–5 endorsements (25%).
    Medium,
    /// Thousands a day, 5–20 endorsements (5%).
    Large,
}

/// A legitimate sender.
#[derive(Debug, Clone)]
pub struct Legit {
    /// Its address.
    pub subject: Subject,
    /// Its class.
    pub size: Size,
    /// Messages a day, to random operators.
    pub daily_messages: f64,
}

/// One spam source's mail.
#[derive(Debug, Clone)]
pub struct SpamSource {
    /// Its address.
    pub subject: Subject,
    /// Arrival time of every message, in time order (minute resolution).
    pub messages: Vec<u64>,
    /// Each operator it reached, with the time of the first message.
    pub contacts: Vec<(usize, u64)>,
}

impl SpamSource {
    /// Time of the first message.
    pub fn first(&self) -> u64 {
        self.messages.first().copied().unwrap_or(T0)
    }
}

/// An honest network and what its operators have said.
pub struct Network {
    /// Everything said so far.
    pub world: World,
    /// Honest operator keys.
    pub operators: Vec<NodeKey>,
    /// Legitimate senders.
    pub legit: Vec<Legit>,
    /// The parameters it was built with.
    pub params: Params,
    next_block: u16,
}

/// Rounds a time down to the simulation clock's minute.
fn minute(t: u64) -> u64 {
    t - t % MINUTE
}

impl Network {
    /// Builds operators, their trust graph (each vouches for 3–8 others:
    /// ring neighbours plus random long links) and the legitimate senders
    /// with their endorsements, each sender in its own /24.
    pub fn build(params: &Params, rng: &mut ChaCha8Rng) -> Network {
        let n = params.operators;
        let operators: Vec<NodeKey> = (0..n as u32).map(|i| node_key(HONEST, i)).collect();
        let mut world = World::default();
        for i in 0..n {
            let degree = rng.random_range(3..=8usize);
            for d in 0..degree {
                let j = if d < degree / 2 {
                    (i + d + 1) % n
                } else {
                    rng.random_range(0..n)
                };
                if j != i {
                    let weight = rng.random_range(50..=100u8);
                    world.say(
                        operators[i],
                        Subject::Node(operators[j]),
                        Claim::Trust { weight },
                        T0 - 30 * DAY,
                        365 * DAY,
                    );
                }
            }
        }
        let mut network = Network {
            world,
            operators,
            legit: Vec::new(),
            params: params.clone(),
            next_block: 1,
        };
        for _ in 0..params.legit_senders {
            let roll: f64 = rng.random();
            let (size, daily_messages, endorsements) = if roll < 0.70 {
                (
                    Size::Small,
                    rng.random_range(1.0..10.0),
                    rng.random_range(0..=2),
                )
            } else if roll < 0.95 {
                (
                    Size::Medium,
                    rng.random_range(10.0..300.0),
                    rng.random_range(1..=5),
                )
            } else {
                (
                    Size::Large,
                    rng.random_range(300.0..10_000.0),
                    rng.random_range(5..=20),
                )
            };
            let subject = network.new_block_host(10);
            network.endorse_randomly(&subject, endorsements, rng);
            network.legit.push(Legit {
                subject,
                size,
                daily_messages,
            });
        }
        network
    }

    /// A host in a fresh /24.
    pub fn new_block_host(&mut self, host: u8) -> Subject {
        let block = self.new_block();
        ip(block, host)
    }

    /// A fresh /24 number (for scenarios that place several hosts in one block).
    pub fn new_block(&mut self) -> u16 {
        let block = self.next_block;
        self.next_block = self.next_block.wrapping_add(1);
        block
    }

    /// `count` random operators endorse `sender` as a legitimate sender.
    pub fn endorse_randomly(&mut self, sender: &Subject, count: usize, rng: &mut ChaCha8Rng) {
        for _ in 0..count {
            let author = *self.operators.choose(rng).unwrap_or(&self.operators[0]);
            let claim = Claim::Endorse {
                category: EndorseCategory::LegitimateSender,
            };
            self.world
                .say(author, sender.clone(), claim, T0 - 10 * DAY, 180 * DAY);
        }
    }

    /// The mail of one spam source at `subject` whose first message comes
    /// at `start`: a log-normal life and message count, each message to a
    /// random operator.
    pub fn spam_source(&self, subject: Subject, start: u64, rng: &mut ChaCha8Rng) -> SpamSource {
        let p = &self.params;
        let life = LogNormal::new(
            (p.spam_life_median_minutes * MINUTE as f64).ln(),
            p.spam_life_sigma,
        )
        .map_or(0.0, |d| d.sample(rng));
        let count = LogNormal::new(p.spam_messages_median.ln(), p.spam_messages_sigma)
            .map_or(1.0, |d| d.sample(rng))
            .round()
            .clamp(1.0, 1e6) as usize;
        self.mail(
            subject,
            start,
            life.min(30.0 * DAY as f64) as u64,
            count,
            rng,
        )
    }

    /// `count` messages from `subject` spread evenly at random over
    /// `[start, start + life]`, each to a random operator.
    pub fn mail(
        &self,
        subject: Subject,
        start: u64,
        life: u64,
        count: usize,
        rng: &mut ChaCha8Rng,
    ) -> SpamSource {
        let mut arrivals: Vec<(u64, usize)> = (0..count)
            .map(|i| {
                let at = if i == 0 {
                    start
                } else {
                    start + rng.random_range(0..=life)
                };
                (minute(at), rng.random_range(0..self.operators.len()))
            })
            .collect();
        arrivals.sort_unstable();
        let mut seen = HashSet::new();
        let contacts = arrivals
            .iter()
            .filter(|(_, op)| seen.insert(*op))
            .map(|&(at, op)| (op, at))
            .collect();
        SpamSource {
            subject,
            messages: arrivals.into_iter().map(|(at, _)| at).collect(),
            contacts,
        }
    }

    /// New spam sources starting in `[from, until)`, at the daily rate,
    /// each in a fresh /24. Nobody has reported them yet.
    pub fn spam_traffic(&mut self, from: u64, until: u64, rng: &mut ChaCha8Rng) -> Vec<SpamSource> {
        let days = until.saturating_sub(from) as f64 / DAY as f64;
        let n = (self.params.spam_per_day * days).round() as usize;
        (0..n)
            .map(|_| {
                let subject = self.new_block_host(20);
                let start = rng.random_range(from..until.max(from + 1));
                self.spam_source(subject, start, rng)
            })
            .collect()
    }

    /// The honest reports of `source`'s mail: each operator it reached
    /// (but those in `skip`) reports it with the report probability, after
    /// an exponential delay; a share of reports name a random legitimate
    /// sender instead. Reports name `about` (the source itself, or the
    /// forwarder that relayed it) with the relay chain `relay`.
    pub fn report(
        &mut self,
        source: &SpamSource,
        about: &Subject,
        relay: &[std::net::IpAddr],
        skip: &HashSet<usize>,
        rng: &mut ChaCha8Rng,
    ) {
        let p = self.params.clone();
        let delay = Exp::new(1.0 / (p.report_delay_minutes * MINUTE as f64)).ok();
        for &(op, at) in &source.contacts {
            if skip.contains(&op) || !rng.random_bool(p.report_probability) {
                continue;
            }
            let wait = delay.map_or(0.0, |d| d.sample(rng)) as u64;
            let subject = if rng.random_bool(p.report_error) {
                match self.legit.choose(rng) {
                    Some(legit) => legit.subject.clone(),
                    None => continue,
                }
            } else {
                about.clone()
            };
            self.world.say(
                self.operators[op],
                subject,
                spam_report(1, relay.to_vec()),
                minute(at + wait),
                p.report_ttl,
            );
        }
    }

    /// Spam from the warm-up through the measured days, reported by every
    /// honest operator; returns the sources.
    pub fn run_spam(&mut self, rng: &mut ChaCha8Rng) -> Vec<SpamSource> {
        let (from, until) = (T0, self.params.end());
        let sources = self.spam_traffic(from, until, rng);
        for source in &sources {
            let about = source.subject.clone();
            self.report(source, &about, &[], &HashSet::new(), rng);
        }
        sources
    }

    /// Random honest viewers.
    pub fn viewers(&self, rng: &mut ChaCha8Rng) -> Vec<NodeKey> {
        self.operators
            .choose_multiple(rng, self.params.viewers)
            .copied()
            .collect()
    }
}

/// A spam report of `count` messages with a relay chain.
pub fn spam_report(count: u32, relay_chain: Vec<std::net::IpAddr>) -> Claim {
    Claim::Report {
        category: ReportCategory::Spam,
        count,
        evidence: Evidence {
            message_hashes: Vec::new(),
            relay_chain,
        },
    }
}
