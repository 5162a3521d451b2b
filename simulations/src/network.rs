//! The simulated population: honest operators on a small-world trust graph,
//! the senders they receive mail from, and the reports and endorsements
//! they make as days pass.

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use vouch_node::trust;
use vouch_protocol::{Claim, EndorseCategory, Evidence, NodeKey, ReportCategory, Subject};

use crate::world::{DAY, HOUR, T0, World, ip, node_key};

/// Population tag of honest operators' keys.
pub const HONEST: u8 = 1;

/// Size and behaviour of an honest network.
#[derive(Debug, Clone)]
pub struct Params {
    /// Honest operators.
    pub operators: usize,
    /// Share of operators that report the spam they receive.
    pub reporter_share: f64,
    /// Share of an active reporter's reports that are wrong (about a legitimate sender).
    pub reporter_error: f64,
    /// Legitimate small senders.
    pub legit_senders: usize,
    /// Spam sources.
    pub spam_sources: usize,
    /// Chance a spam source reaches a given operator on a given day.
    pub daily_reach: f64,
    /// Honest operators whose view is computed (a sample: each view is a
    /// personalised trust computation over the whole graph).
    pub viewers: usize,
    /// Days of activity before the measurement.
    pub days: u64,
    /// The engine's settings every viewer scores with (the node's defaults
    /// unless `vouch-sim --config` names a node configuration file).
    pub trust: trust::Config,
}

impl Params {
    /// The full-size run.
    pub fn full() -> Params {
        Params {
            operators: 1000,
            reporter_share: 0.2,
            reporter_error: 0.05,
            legit_senders: 500,
            spam_sources: 200,
            daily_reach: 0.3,
            viewers: 50,
            days: 3,
            trust: trust::Config::default(),
        }
    }

    /// A small run for smoke tests.
    pub fn small() -> Params {
        Params {
            operators: 200,
            legit_senders: 100,
            spam_sources: 40,
            viewers: 12,
            ..Params::full()
        }
    }
}

/// An honest network and what its operators have said.
pub struct Network {
    /// Everything said so far.
    pub world: World,
    /// Honest operator keys.
    pub operators: Vec<NodeKey>,
    /// Indices (into `operators`) of active reporters.
    pub reporters: Vec<usize>,
    /// Legitimate senders.
    pub legit: Vec<Subject>,
    /// Spam sources.
    pub spam: Vec<Subject>,
    /// The parameters it was built with.
    pub params: Params,
    next_block: u16,
}

impl Network {
    /// Builds operators, their trust graph (each vouches for 3–8 others:
    /// ring neighbours plus random long links), legitimate senders with 0–2
    /// endorsements, and spam sources, each sender in its own /24.
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
        let reporters = (0..n)
            .filter(|_| rng.random_bool(params.reporter_share))
            .collect();
        let mut network = Network {
            world,
            operators,
            reporters,
            legit: Vec::new(),
            spam: Vec::new(),
            params: params.clone(),
            next_block: 1,
        };
        for _ in 0..params.legit_senders {
            let sender = network.new_block_host(10);
            network.endorse_randomly(&sender, rng.random_range(0..=2), rng);
            network.legit.push(sender);
        }
        for _ in 0..params.spam_sources {
            let sender = network.new_block_host(20);
            network.spam.push(sender);
        }
        network
    }

    /// A host in a fresh /24.
    pub fn new_block_host(&mut self, host: u8) -> Subject {
        let block = self.next_block;
        self.next_block = self.next_block.wrapping_add(1);
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

    /// One day of mail from `sources`: each reaches each operator with the
    /// daily reach; active reporters report what reaches them, and get it
    /// wrong (reporting a random legitimate sender instead) at the error rate.
    pub fn spam_day(&mut self, day: u64, sources: &[Subject], rng: &mut ChaCha8Rng) {
        let reporters = self.reporters.clone();
        for source in sources {
            for &r in &reporters {
                if !rng.random_bool(self.params.daily_reach) {
                    continue;
                }
                let at = T0 + day * DAY + rng.random_range(0..DAY);
                let subject = if rng.random_bool(self.params.reporter_error) {
                    self.legit
                        .choose(rng)
                        .cloned()
                        .unwrap_or_else(|| source.clone())
                } else {
                    source.clone()
                };
                self.world.say(
                    self.operators[r],
                    subject,
                    spam_report(1, Vec::new()),
                    at,
                    7 * DAY,
                );
            }
        }
    }

    /// Runs `days` days of spam from every spam source; returns the
    /// measurement time (the end of the last day).
    pub fn run_days(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        let sources = self.spam.clone();
        for day in 0..self.params.days {
            self.spam_day(day, &sources, rng);
        }
        T0 + self.params.days * DAY
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

/// An hour, for scenarios that step time.
pub const STEP: u64 = HOUR;
