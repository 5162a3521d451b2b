//! The simulated world's statements, kept the way a node's store keeps them
//! (latest wins per author, subject and kind) and indexed the way a node
//! looks them up (exact subject, covering netblock, relay origin).
//!
//! Statements are not signed: the engine scores what the store holds, and
//! signature checks happen before that, at ingest. Skipping them keeps a
//! run over hundreds of thousands of statements within seconds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use vouch_protocol::{
    Claim, Kind, NodeKey, SignedStatement, Statement, StatementId, Subject, VERSION,
};

/// Seconds in an hour.
pub const HOUR: u64 = 3600;
/// Seconds in a day.
pub const DAY: u64 = 24 * HOUR;
/// Simulated time zero (a fixed Unix time, so runs are reproducible).
pub const T0: u64 = 1_800_000_000;

/// Key of simulated node `index` in population `tag` (honest, sybil, fresh…).
pub fn node_key(tag: u8, index: u32) -> NodeKey {
    let mut key = [0u8; 32];
    key[0] = tag;
    key[1..5].copy_from_slice(&index.to_be_bytes());
    NodeKey(key)
}

/// The IPv4 subject `10.block_hi.block_lo.host`: block numbers index /24s.
pub fn ip(block: u16, host: u8) -> Subject {
    let [hi, lo] = block.to_be_bytes();
    Subject::Ip(IpAddr::V4(Ipv4Addr::new(10, hi, lo, host)))
}

/// Every statement made so far, latest per slot.
#[derive(Clone, Default)]
pub struct World {
    slots: HashMap<(NodeKey, Subject, Kind), SignedStatement>,
}

/// Statements visible at one moment, indexed for lookups.
#[derive(Default)]
pub struct Index {
    /// Live trust statements.
    pub trust: Vec<SignedStatement>,
    by_subject: HashMap<Subject, Vec<(StatementId, SignedStatement)>>,
    by_block: HashMap<Subject, Vec<(StatementId, SignedStatement)>>,
    by_origin: HashMap<Subject, Vec<(StatementId, SignedStatement)>>,
}

impl World {
    /// `author` says `claim` about `subject` at time `at`, valid for `ttl`.
    /// A newer statement replaces the author's older one in the same slot.
    pub fn say(&mut self, author: NodeKey, subject: Subject, claim: Claim, at: u64, ttl: u64) {
        let slot = (author, subject.clone(), claim.slot_kind());
        if self
            .slots
            .get(&slot)
            .is_some_and(|old| old.body.created_at > at)
        {
            return;
        }
        let body = Statement {
            version: VERSION,
            subject,
            created_at: at,
            expires_at: at + ttl,
            claim,
        };
        self.slots.insert(
            slot,
            SignedStatement {
                body,
                author,
                signature: [0; 64],
            },
        );
    }

    /// Number of live slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing was said.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The statements made up to `now` and not expired, indexed.
    pub fn index(&self, now: u64) -> Index {
        let mut index = Index::default();
        for (n, statement) in self.slots.values().enumerate() {
            let body = &statement.body;
            if body.created_at > now || body.expires_at <= now {
                continue;
            }
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(n as u64).to_be_bytes());
            let entry = (StatementId(id), statement.clone());
            match &body.claim {
                Claim::Trust { weight } if *weight > 0 => index.trust.push(statement.clone()),
                Claim::Trust { .. } | Claim::Retract { .. } => {}
                claim => {
                    if let Claim::Report { evidence, .. } = claim
                        && let Some(origin) = evidence.relay_chain.first()
                    {
                        index
                            .by_origin
                            .entry(Subject::Ip(*origin))
                            .or_default()
                            .push(entry.clone());
                    }
                    if let Some(block) = body.subject.covering_netblock() {
                        index.by_block.entry(block).or_default().push(entry.clone());
                    }
                    if let Subject::Net { .. } = body.subject {
                        index
                            .by_block
                            .entry(body.subject.clone())
                            .or_default()
                            .push(entry.clone());
                    }
                    index
                        .by_subject
                        .entry(body.subject.clone())
                        .or_default()
                        .push(entry);
                }
            }
        }
        index
    }
}

impl Index {
    /// Statements about exactly `subject`.
    pub fn about(&self, subject: &Subject) -> &[(StatementId, SignedStatement)] {
        self.by_subject.get(subject).map_or(&[], Vec::as_slice)
    }

    /// Statements about the /24 covering `subject` and the addresses in it.
    pub fn netblock(&self, subject: &Subject) -> &[(StatementId, SignedStatement)] {
        subject
            .covering_netblock()
            .and_then(|b| self.by_block.get(&b))
            .map_or(&[], Vec::as_slice)
    }

    /// Reports whose relay chain names `subject` as the original source.
    pub fn relayed_from(&self, subject: &Subject) -> &[(StatementId, SignedStatement)] {
        self.by_origin.get(subject).map_or(&[], Vec::as_slice)
    }
}
