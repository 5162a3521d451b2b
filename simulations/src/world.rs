//! The simulated world's statements, with their history: everything said,
//! when. A [`Timeline`] answers what a node's store would hold at any
//! moment (latest per author, subject and kind; expired statements gone),
//! indexed the way a node looks them up (exact subject, covering netblock,
//! relay origin).
//!
//! Statements are not signed: the engine scores what the store holds, and
//! signature checks happen before that, at ingest. Skipping them keeps a
//! run over hundreds of thousands of statements within seconds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use vouch_protocol::{Claim, NodeKey, SignedStatement, Statement, StatementId, Subject, VERSION};
use vouch_trust::Said;

use crate::co_reports::{CoReportIndex, CoReportsAt};

/// Seconds in a minute, the simulation clock's resolution.
pub const MINUTE: u64 = 60;
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

/// Everything said, in the order it was said.
#[derive(Clone, Default)]
pub struct World {
    said: Vec<SignedStatement>,
}

impl World {
    /// `author` says `claim` about `subject` at time `at`, valid for `ttl`.
    pub fn say(&mut self, author: NodeKey, subject: Subject, claim: Claim, at: u64, ttl: u64) {
        self.said.push(SignedStatement {
            body: Statement {
                version: VERSION,
                subject,
                created_at: at,
                expires_at: at + ttl,
                claim,
            },
            author,
            signature: [0; 64],
        });
    }

    /// Number of statements said.
    pub fn len(&self) -> usize {
        self.said.len()
    }

    /// Whether nothing was said.
    pub fn is_empty(&self) -> bool {
        self.said.is_empty()
    }

    /// Everything said, indexed by subject, netblock and relay origin.
    pub fn timeline(&self) -> Timeline {
        let mut timeline = Timeline {
            co_reports: CoReportIndex::build(&self.said),
            ..Timeline::default()
        };
        for (n, statement) in self.said.iter().enumerate() {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(n as u64).to_be_bytes());
            let entry = (StatementId(id), statement.clone());
            let body = &statement.body;
            if let Claim::Trust { .. } = body.claim {
                timeline.trust.push(entry);
                continue;
            }
            if let Claim::Report { evidence, .. } = &body.claim
                && let Some(origin) = evidence.relay_chain.first()
            {
                timeline
                    .by_origin
                    .entry(Subject::Ip(*origin))
                    .or_default()
                    .push(entry.clone());
            }
            if let Some(block) = body.subject.covering_netblock() {
                timeline
                    .by_block
                    .entry(block)
                    .or_default()
                    .push(entry.clone());
            }
            if let Subject::Net { .. } = body.subject {
                timeline
                    .by_block
                    .entry(body.subject.clone())
                    .or_default()
                    .push(entry.clone());
            }
            timeline
                .by_subject
                .entry(body.subject.clone())
                .or_default()
                .push(entry);
        }
        for list in timeline
            .by_subject
            .values_mut()
            .chain(timeline.by_block.values_mut())
            .chain(timeline.by_origin.values_mut())
            .chain(std::iter::once(&mut timeline.trust))
        {
            list.sort_by_key(|(_, s)| s.body.created_at);
        }
        timeline
    }
}

/// A statement with its id, as a store holds it.
pub type Entry = (StatementId, SignedStatement);

/// What scoring reads of each entry (nothing renewed: each report counts
/// from its own creation).
pub fn said(entries: &[Entry]) -> Vec<Said> {
    entries
        .iter()
        .filter_map(|(id, s)| Said::of(*id, s, None))
        .collect()
}

/// The world's statements in time order, answering "what would a node's
/// store hold at time `at`?".
#[derive(Default)]
pub struct Timeline {
    trust: Vec<Entry>,
    by_subject: HashMap<Subject, Vec<Entry>>,
    by_block: HashMap<Subject, Vec<Entry>>,
    by_origin: HashMap<Subject, Vec<Entry>>,
    co_reports: CoReportIndex,
}

/// What a store holds at one moment: the live statements, and for those
/// that renewed an earlier statement in their slot, when the slot was
/// first filled (sorted by id, as the engine's evidence wants it).
#[derive(Default)]
pub struct Held {
    /// The live statements.
    pub entries: Vec<Entry>,
    /// (id, first statement time in its slot) for renewals.
    pub first: Vec<(StatementId, u64)>,
}

impl Held {
    /// What scoring reads of the live statements, renewals dated from
    /// their slot's first statement.
    pub fn said(&self) -> Vec<Said> {
        self.entries
            .iter()
            .filter_map(|(id, s)| {
                let first = self
                    .first
                    .binary_search_by(|(listed, _)| listed.cmp(id))
                    .ok()
                    .and_then(|i| self.first.get(i))
                    .map(|(_, first)| *first);
                Said::of(*id, s, first)
            })
            .collect()
    }
}

/// The statements of `list` (in time order) a store holds at `at`: made by
/// then, not expired, and the latest of each author's slot. Retractions
/// and zero-weight trust win their slot and then count for nothing. A
/// slot whose statement expired before the next one came was emptied in
/// between, so the next one starts it afresh.
fn live(list: &[Entry], at: u64) -> Held {
    let made = list.partition_point(|(_, s)| s.body.created_at <= at);
    let mut latest: HashMap<(&NodeKey, &Subject, vouch_protocol::Kind), (&Entry, u64)> =
        HashMap::new();
    for entry in &list[..made] {
        let s = &entry.1;
        let slot = (&s.author, &s.body.subject, s.body.claim.slot_kind());
        let first = match latest.get(&slot) {
            Some((old, first)) if old.1.body.expires_at > s.body.created_at => *first,
            _ => s.body.created_at,
        };
        latest.insert(slot, (entry, first));
    }
    let mut held = Held::default();
    for (entry, first) in latest.into_values() {
        let s = &entry.1;
        if s.body.expires_at <= at
            || matches!(
                s.body.claim,
                Claim::Retract { .. } | Claim::Trust { weight: 0 }
            )
        {
            continue;
        }
        if first < s.body.created_at {
            held.first.push((entry.0, first));
        }
        held.entries.push(entry.clone());
    }
    held.entries.sort_by_key(|(id, _)| *id);
    held.first.sort_by_key(|(id, _)| *id);
    held
}

impl Timeline {
    /// Who reported what, as a store would hold it at `at`.
    pub fn co_reports(&self, at: u64) -> CoReportsAt<'_> {
        self.co_reports.at(at)
    }

    /// Live trust statements at `at`.
    pub fn trust(&self, at: u64) -> Vec<Entry> {
        live(&self.trust, at).entries
    }

    /// Statements about exactly `subject` held at `at`.
    pub fn about(&self, subject: &Subject, at: u64) -> Vec<Entry> {
        self.about_held(subject, at).entries
    }

    /// Statements about exactly `subject` held at `at`, with when each
    /// renewed slot was first filled.
    pub fn about_held(&self, subject: &Subject, at: u64) -> Held {
        self.by_subject
            .get(subject)
            .map_or_else(Held::default, |list| live(list, at))
    }

    /// Times at which statements about exactly `subject` were made.
    pub fn times_about(&self, subject: &Subject) -> impl Iterator<Item = u64> + '_ {
        self.by_subject
            .get(subject)
            .into_iter()
            .flatten()
            .map(|(_, s)| s.body.created_at)
    }

    /// Statements about the /24 covering `subject` and the addresses in it.
    pub fn netblock(&self, subject: &Subject, at: u64) -> Vec<Entry> {
        subject
            .covering_netblock()
            .and_then(|b| self.by_block.get(&b))
            .map_or_else(Vec::new, |list| live(list, at).entries)
    }

    /// Reports whose relay chain names `subject` as the original source.
    pub fn relayed_from(&self, subject: &Subject, at: u64) -> Vec<Entry> {
        self.by_origin
            .get(subject)
            .map_or_else(Vec::new, |list| live(list, at).entries)
    }
}
