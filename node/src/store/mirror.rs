//! What scoring reads of every live endorsement, report and remediation
//! notice, kept in memory beside the indexes on disk: every lookup, from
//! any front-end, scores from here and reads nothing from RocksDB. A
//! sender nobody spoke of — most of what a mail server asks about — is one
//! hash-map miss; a listed one is its own few entries and its /24's.
//!
//! Each write's changes are applied once the write has landed, under one
//! lock, so a lookup sees what the indexes held after some completed
//! write, in the order a scan of them would return it (the same sums, to
//! the last bit). Entries are compact (authors numbered, the rare relayed
//! report and remediation note boxed, a subject's one statement kept in
//! its slot of a [`SubjectTable`]): about 130 bytes for a subject with
//! one statement, 80 for each further one.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use smallvec::{SmallVec, smallvec};

use vouch_protocol::{
    EndorseCategory, Kind, NodeKey, ReportCategory, SignedStatement, StatementId, Subject,
};
use vouch_trust::{
    CoReports, Config, Neighbourhood, Reporting, Said, SaidClaim, Shared, TrustMap, shared_by_pairs,
};

use super::MAX_STATEMENTS_PER_LOOKUP;
use super::keys::{self, NetblockKey};
use super::neighbourhoods::{MIN_KEPT_STATEMENTS, Neighbourhoods};
use super::subject_table::SubjectTable;

/// A hash map with a fast hasher seeded per process (peers choose the
/// subjects and keys in it, so the seed is not predictable to them).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The order of two subjects' keys in the indexes (without building the
/// keys for addresses, the common case).
fn subject_order(a: &Subject, b: &Subject) -> Ordering {
    match (a, b) {
        (Subject::Ip(a), Subject::Ip(b)) => a.cmp(b),
        _ => keys::subject(a).cmp(&keys::subject(b)),
    }
}

/// One write's changes to the mirror, in the order the write made them.
#[derive(Debug, Default)]
pub struct Changes(Vec<Change>);

#[derive(Debug)]
enum Change {
    Add(Said),
    Remove { subject: Subject, id: StatementId },
}

impl Changes {
    /// `statement` (id `id`) entered the subject index.
    pub fn add(
        &mut self,
        id: StatementId,
        statement: &SignedStatement,
        first_reported: Option<u64>,
    ) {
        if let Some(said) = Said::of(id, statement, first_reported) {
            self.0.push(Change::Add(said));
        }
    }

    /// The statement `id` about `subject` left the subject index.
    pub fn remove(&mut self, subject: &Subject, id: StatementId) {
        self.0.push(Change::Remove {
            subject: subject.clone(),
            id,
        });
    }
}

/// The in-memory copy of what scoring reads.
#[derive(Debug, Default)]
pub struct Mirror {
    facts: RwLock<Facts>,
    neighbourhoods: Neighbourhoods,
    /// Writes applied so far (changed under the write lock).
    generation: AtomicU64,
}

impl Mirror {
    /// Applies one landed write's changes.
    pub fn apply(&self, changes: Changes) {
        if changes.0.is_empty() {
            return;
        }
        let mut facts = self.facts.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, AtomicOrdering::Relaxed);
        for change in changes.0 {
            let subject = match &change {
                Change::Add(said) => &said.subject,
                Change::Remove { subject, .. } => subject,
            };
            // Under the write lock: no lookup keeps the block weighed as
            // it was before this write.
            if let Some(block) = keys::netblock(subject) {
                self.neighbourhoods.forget(&block);
            }
            match change {
                Change::Add(said) => facts.add(said),
                Change::Remove { subject, id } => facts.remove(&subject, &id),
            }
        }
    }

    /// A consistent view for one lookup (held briefly: writes wait for it).
    pub fn view(&self) -> MirrorView<'_> {
        let facts = self.facts.read().unwrap_or_else(PoisonError::into_inner);
        MirrorView {
            generation: self.generation.load(AtomicOrdering::Relaxed),
            facts,
            neighbourhoods: &self.neighbourhoods,
        }
    }
}

/// What a lookup reads, as of the last landed write.
pub struct MirrorView<'a> {
    generation: u64,
    facts: RwLockReadGuard<'a, Facts>,
    neighbourhoods: &'a Neighbourhoods,
}

impl MirrorView<'_> {
    /// How many writes had been applied when it was taken: two views with
    /// the same generation hold the same facts.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether it holds nothing at all, not even a numbered author.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        let facts = &self.facts;
        facts.subjects.is_empty()
            && facts.netblocks.is_empty()
            && facts.relayed.is_empty()
            && facts.reported.is_empty()
            && facts.shared_pairs == 0
            && facts.live_reports == 0
            && facts.numbers.is_empty()
            && facts.free.len() == facts.authors.len()
    }

    /// Whether nothing held bears on a lookup of `subject`: no statement
    /// about it and, for an address, none relayed from it nor any about
    /// its /24 or /48. Most senders a mail server asks about are.
    pub fn is_unheard_of(&self, subject: &Subject) -> bool {
        let facts = &self.facts;
        if facts.subjects.get(subject).is_some() {
            return false;
        }
        let Subject::Ip(origin) = subject else {
            return true;
        };
        !facts.relayed.contains_key(origin)
            && keys::netblock(subject).is_none_or(|block| !facts.netblocks.contains_key(&block))
    }

    /// Live statements about exactly `subject`.
    pub fn about(&self, subject: &Subject) -> Vec<Said> {
        let facts = &self.facts;
        facts
            .subjects
            .get(subject)
            .map(|list| {
                list.iter()
                    .take(MAX_STATEMENTS_PER_LOOKUP)
                    .map(|fact| facts.said(subject, fact))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Live statements about the addresses and netblocks inside the /24
    /// or /48 covering `subject`.
    pub fn in_netblock(&self, subject: &Subject) -> Vec<Said> {
        let facts = &self.facts;
        let Some(members) = keys::netblock(subject).and_then(|block| facts.netblocks.get(&block))
        else {
            return Vec::new();
        };
        members
            .iter()
            .filter_map(|&member| facts.subjects.slot(member))
            .flat_map(|(member, list)| list.iter().map(move |fact| facts.said(member, fact)))
            .take(MAX_STATEMENTS_PER_LOOKUP)
            .collect()
    }

    /// The /24 or /48 covering `subject` weighed under `trust` at `now`, or
    /// earlier when that still covers `now` (see [`Neighbourhood`]); `None`
    /// for a subject that is not an address.
    pub fn neighbourhood(
        &self,
        subject: &Subject,
        trust: &Arc<TrustMap>,
        now: u64,
        config: &Config,
    ) -> Option<Arc<Neighbourhood>> {
        let block = keys::netblock(subject)?;
        if let Some(weighed) = self.neighbourhoods.get(&block, trust, now) {
            return Some(weighed);
        }
        let statements = self.in_netblock(subject);
        let weighed = Arc::new(Neighbourhood::weigh(&statements, trust, now, config));
        if statements.len() >= MIN_KEPT_STATEMENTS {
            self.neighbourhoods.keep(block, trust, Arc::clone(&weighed));
        }
        Some(weighed)
    }

    /// How many statements a lookup of `subject` at `now` under `trust`
    /// weighs (those about it, those relayed from it, and its /24's or
    /// /48's unless the block is kept weighed), counted up to `limit`.
    pub fn weighs(
        &self,
        subject: &Subject,
        trust: &Arc<TrustMap>,
        now: u64,
        limit: usize,
    ) -> usize {
        let facts = &self.facts;
        let about = facts.subjects.get(subject).map_or(0, |list| list.len());
        let Subject::Ip(origin) = subject else {
            return about.min(limit);
        };
        let relayed = facts.relayed.get(origin).map_or(0, Vec::len);
        let mut weighs = about.saturating_add(relayed);
        let Some(block) = keys::netblock(subject) else {
            return weighs.min(limit);
        };
        if self.neighbourhoods.get(&block, trust, now).is_some() {
            return weighs.min(limit);
        }
        for member in facts.netblocks.get(&block).into_iter().flatten() {
            if weighs >= limit {
                break;
            }
            let listed = facts
                .subjects
                .slot(*member)
                .map_or(0, |(_, list)| list.len());
            weighs = weighs.saturating_add(listed);
        }
        weighs.min(limit)
    }

    /// Blocks kept weighed for lookups.
    #[cfg(test)]
    pub fn kept_neighbourhoods(&self) -> usize {
        self.neighbourhoods.len()
    }

    /// Live reports whose relay chain names `subject` as the original source.
    pub fn relayed_from(&self, subject: &Subject) -> Vec<Said> {
        let facts = &self.facts;
        let Subject::Ip(origin) = subject else {
            return Vec::new();
        };
        facts
            .relayed
            .get(origin)
            .into_iter()
            .flatten()
            .filter_map(|(_, host, id)| {
                let fact = facts.subjects.get(host)?.iter().find(|f| f.id == *id)?;
                Some(facts.said(host, fact))
            })
            .take(MAX_STATEMENTS_PER_LOOKUP)
            .collect()
    }
}

/// Most of one author's reported subjects (the latest) compared when
/// checking whether a subject's witnesses report independently: bounds a
/// lookup's cost whatever a peer has reported.
const MAX_REPORTS_COMPARED: usize = 4096;

impl CoReports for MirrorView<'_> {
    fn shared(&self, authors: &[NodeKey], subject: &Subject) -> Shared {
        let facts = &self.facts;
        let except = facts.subject_number(subject);
        let lists: Vec<Vec<u64>> = authors
            .iter()
            .map(|author| {
                let Some(reported) = facts
                    .numbers
                    .get(author)
                    .and_then(|number| facts.reported.get(number))
                else {
                    return Vec::new();
                };
                let skip = reported.len().saturating_sub(MAX_REPORTS_COMPARED);
                reported
                    .iter()
                    .skip(skip)
                    .copied()
                    .filter(|&s| s != except)
                    .collect()
            })
            .collect();
        let reporting = Reporting {
            reports: facts.live_reports,
            same_subject_pairs: facts.shared_pairs,
            reporters: facts.reported.len() as u64,
        };
        shared_by_pairs(lists.iter().map(Vec::as_slice), &reporting)
    }
}

impl std::fmt::Debug for MirrorView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorView")
            .field("subjects", &self.facts.subjects.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl MirrorView<'_> {
    /// (pairs of reports naming the same subject, live reports, reported
    /// subjects listed by author), as kept up to date and as counted
    /// afresh from the facts.
    pub fn co_report_counts(&self) -> [(u64, u64, usize); 2] {
        let facts = &self.facts;
        let (mut pairs, mut reports) = (0u64, 0u64);
        for list in facts.subjects.values() {
            let r = list
                .iter()
                .filter(|f| f.claim.kind() == Kind::Report)
                .count() as u64;
            pairs += r * r.saturating_sub(1) / 2;
            reports += r;
        }
        let listed = facts.reported.values().map(VecDeque::len).sum();
        [
            (facts.shared_pairs, facts.live_reports, listed),
            (pairs, reports, reports as usize),
        ]
    }
}

#[derive(Debug, Default)]
struct Facts {
    /// Authors by number, with how many facts name each (a slot whose
    /// count falls to 0 is reused).
    authors: Vec<(NodeKey, u32)>,
    numbers: HashMap<NodeKey, u32>,
    free: Vec<u32>,
    /// Facts by subject, in the subject index's order (author, kind).
    subjects: SubjectTable<FactList>,
    /// The subjects (by slot in `subjects`) with facts in each /24 or
    /// /48, in index order.
    netblocks: HashMap<NetblockKey, Vec<u32>>,
    /// (index key, reported host, statement) of the reports relayed from
    /// each origin, in index order.
    relayed: HashMap<IpAddr, Vec<(Vec<u8>, Subject, StatementId)>>,
    /// The subjects (as numbers) each author holds live reports about,
    /// oldest first (expiry takes them from the front), for the engine's
    /// independence check.
    reported: HashMap<u32, VecDeque<u64>>,
    /// Pairs of reports naming the same subject, summed over subjects.
    shared_pairs: u64,
    /// Live reports.
    live_reports: u64,
}

/// A subject's facts: most subjects have one, kept in place.
type FactList = SmallVec<[Fact; 1]>;

#[derive(Debug)]
struct Fact {
    id: StatementId,
    author: u32,
    created_at: u64,
    expires_at: u64,
    first_reported: u64,
    claim: FactClaim,
}

/// A [`SaidClaim`] in 16 bytes.
#[derive(Debug)]
enum FactClaim {
    Endorse(EndorseCategory),
    Report(ReportCategory, u32),
    RelayedReport(Box<(ReportCategory, u32, IpAddr)>),
    Remediate(Box<(u64, String)>),
}

impl FactClaim {
    fn of(claim: SaidClaim) -> FactClaim {
        match claim {
            SaidClaim::Endorse(category) => FactClaim::Endorse(category),
            SaidClaim::Report {
                category,
                count,
                relayed_from: None,
            } => FactClaim::Report(category, count),
            SaidClaim::Report {
                category,
                count,
                relayed_from: Some(origin),
            } => FactClaim::RelayedReport(Box::new((category, count, origin))),
            SaidClaim::Remediate {
                remediated_at,
                note,
            } => FactClaim::Remediate(Box::new((remediated_at, note))),
        }
    }

    fn said(&self) -> SaidClaim {
        match self {
            FactClaim::Endorse(category) => SaidClaim::Endorse(*category),
            FactClaim::Report(category, count) => SaidClaim::Report {
                category: *category,
                count: *count,
                relayed_from: None,
            },
            FactClaim::RelayedReport(report) => SaidClaim::Report {
                category: report.0,
                count: report.1,
                relayed_from: Some(report.2),
            },
            FactClaim::Remediate(notice) => SaidClaim::Remediate {
                remediated_at: notice.0,
                note: notice.1.clone(),
            },
        }
    }

    fn kind(&self) -> Kind {
        match self {
            FactClaim::Endorse(_) => Kind::Endorse,
            FactClaim::Report(..) | FactClaim::RelayedReport(_) => Kind::Report,
            FactClaim::Remediate(_) => Kind::Remediate,
        }
    }

    fn relayed_from(&self) -> Option<IpAddr> {
        match self {
            FactClaim::RelayedReport(report) => Some(report.2),
            _ => None,
        }
    }
}

impl Facts {
    fn subject_number(&self, subject: &Subject) -> u64 {
        self.subjects.hash(subject)
    }

    /// Counts a report by `author` about `subject`, which already had
    /// `others` reports by other authors.
    fn count_report(&mut self, author: u32, subject: &Subject, others: usize) {
        self.shared_pairs += others as u64;
        self.live_reports += 1;
        let number = self.subject_number(subject);
        self.reported.entry(author).or_default().push_back(number);
    }

    /// Uncounts a report by `author` about `subject`, which keeps `others`
    /// reports by other authors.
    fn uncount_report(&mut self, author: u32, subject: &Subject, others: usize) {
        self.shared_pairs = self.shared_pairs.saturating_sub(others as u64);
        self.live_reports = self.live_reports.saturating_sub(1);
        let number = self.subject_number(subject);
        if let Some(list) = self.reported.get_mut(&author) {
            // The oldest first: what expires, and what a renewal replaces.
            if let Some(at) = list.iter().position(|&s| s == number) {
                list.remove(at);
            }
            if list.is_empty() {
                self.reported.remove(&author);
            }
        }
    }

    fn author(&self, number: u32) -> NodeKey {
        self.authors
            .get(number as usize)
            .map_or(NodeKey([0; 32]), |(key, _)| *key)
    }

    fn said(&self, subject: &Subject, fact: &Fact) -> Said {
        Said {
            id: fact.id,
            author: self.author(fact.author),
            subject: subject.clone(),
            created_at: fact.created_at,
            expires_at: fact.expires_at,
            first_reported: fact.first_reported,
            claim: fact.claim.said(),
        }
    }

    /// The subject index orders a subject's entries by author, then kind.
    fn index_order(&self, a: &Fact, b: (&NodeKey, Kind)) -> Ordering {
        (self.author(a.author).0, a.claim.kind().tag()).cmp(&(b.0.0, b.1.tag()))
    }

    fn number(&mut self, author: NodeKey) -> u32 {
        if let Some(&number) = self.numbers.get(&author) {
            if let Some(slot) = self.authors.get_mut(number as usize) {
                slot.1 += 1;
            }
            return number;
        }
        let number = match self.free.pop() {
            Some(number) => {
                if let Some(slot) = self.authors.get_mut(number as usize) {
                    *slot = (author, 1);
                }
                number
            }
            None => {
                self.authors.push((author, 1));
                (self.authors.len() - 1) as u32
            }
        };
        self.numbers.insert(author, number);
        number
    }

    fn release(&mut self, number: u32) {
        let Some(slot) = self.authors.get_mut(number as usize) else {
            return;
        };
        slot.1 = slot.1.saturating_sub(1);
        if slot.1 == 0 {
            self.numbers.remove(&slot.0);
            self.free.push(number);
        }
    }

    fn add(&mut self, said: Said) {
        let kind = said.kind();
        let position = match self.subjects.get(&said.subject) {
            Some(list) => {
                if list.iter().any(|f| f.id == said.id) {
                    return;
                }
                list.binary_search_by(|f| self.index_order(f, (&said.author, kind)))
                    .unwrap_or_else(|at| at)
            }
            None => 0,
        };
        let fact = Fact {
            id: said.id,
            author: self.number(said.author),
            created_at: said.created_at,
            expires_at: said.expires_at,
            first_reported: said.first_reported,
            claim: FactClaim::of(said.claim),
        };
        if kind == Kind::Report {
            let others = self.subjects.get(&said.subject).map_or(0, |list| {
                list.iter()
                    .filter(|f| f.claim.kind() == Kind::Report)
                    .count()
            });
            self.count_report(fact.author, &said.subject, others);
        }
        if let Some(origin) = fact.claim.relayed_from() {
            let key = keys::indexed(&keys::subject(&said.subject), &said.author, kind);
            let list = self.relayed.entry(origin).or_default();
            let at = list
                .binary_search_by(|(listed, _, _)| listed.cmp(&key))
                .unwrap_or_else(|at| at);
            list.insert(at, (key, said.subject.clone(), said.id));
        }
        match self.subjects.get_mut(&said.subject) {
            Some(list) => list.insert(position.min(list.len()), fact),
            None => {
                let block = keys::netblock(&said.subject);
                let subject = said.subject;
                let n = self.subjects.insert_new(subject, smallvec![fact]);
                if let Some(block) = block
                    && let Some((subject, _)) = self.subjects.slot(n)
                {
                    let members = self.netblocks.entry(block).or_default();
                    let at = members
                        .binary_search_by(|&member| {
                            self.subjects
                                .slot(member)
                                .map_or(Ordering::Less, |(member, _)| {
                                    subject_order(member, subject)
                                })
                        })
                        .unwrap_or_else(|at| at);
                    members.insert(at, n);
                }
            }
        }
    }

    fn remove(&mut self, subject: &Subject, id: &StatementId) {
        let Some(list) = self.subjects.get_mut(subject) else {
            return;
        };
        let Some(at) = list.iter().position(|f| f.id == *id) else {
            return;
        };
        let fact = list.remove(at);
        let emptied = list.is_empty();
        let others = list
            .iter()
            .filter(|f| f.claim.kind() == Kind::Report)
            .count();
        if emptied {
            let n = self.subjects.number(subject);
            self.subjects.remove(subject);
            if let Some(block) = keys::netblock(subject)
                && let Some(members) = self.netblocks.get_mut(&block)
            {
                members.retain(|&member| Some(member) != n);
                if members.is_empty() {
                    self.netblocks.remove(&block);
                }
            }
        }
        if let Some(origin) = fact.claim.relayed_from()
            && let Some(list) = self.relayed.get_mut(&origin)
        {
            list.retain(|(_, _, listed)| listed != id);
            if list.is_empty() {
                self.relayed.remove(&origin);
            }
        }
        if fact.claim.kind() == Kind::Report {
            self.uncount_report(fact.author, subject, others);
        }
        self.release(fact.author);
    }
}
