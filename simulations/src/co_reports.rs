//! Who reported what, by author, over the simulated days: what a node's
//! store knows of its reporters' other reports, for the engine's check
//! that a subject's witnesses report independently of each other.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::{Mutex, PoisonError};

use vouch_protocol::{Claim, NodeKey, SignedStatement, Subject};
use vouch_trust::{CoReports, Reporting, Shared, shared_by_pairs};

use crate::world::HOUR;

/// A subject as a number (a fixed hash: runs are reproducible).
fn subject_number(subject: &Subject) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(subject)
}

/// A report: (made, expires, subject number).
type Reported = (u64, u64, u64);

/// Every report by author, and who reported what each hour.
#[derive(Default)]
pub struct CoReportIndex {
    by_author: HashMap<NodeKey, Vec<Reported>>,
    /// (hour start, who reported what then).
    hourly: Vec<(u64, Reporting)>,
}

impl CoReportIndex {
    /// Indexes the reports among `said`.
    pub fn build<'a>(said: impl IntoIterator<Item = &'a SignedStatement>) -> CoReportIndex {
        let mut by_author: HashMap<NodeKey, Vec<Reported>> = HashMap::new();
        for s in said {
            if let Claim::Report { .. } = s.body.claim {
                by_author.entry(s.author).or_default().push((
                    s.body.created_at,
                    s.body.expires_at,
                    subject_number(&s.body.subject),
                ));
            }
        }
        let first = by_author.values().flatten().map(|r| r.0).min().unwrap_or(0);
        let last = by_author.values().flatten().map(|r| r.0).max().unwrap_or(0);
        let mut index = CoReportIndex {
            by_author,
            hourly: Vec::new(),
        };
        let mut hour = first - first % HOUR;
        while hour <= last + HOUR {
            let mut reporters: HashMap<u64, u64> = HashMap::new();
            let mut authors = 0;
            for reports in index.by_author.values() {
                let subjects = live_subjects(reports, hour, None);
                authors += u64::from(!subjects.is_empty());
                for subject in subjects {
                    *reporters.entry(subject).or_default() += 1;
                }
            }
            let reporting = Reporting {
                reports: reporters.values().sum(),
                same_subject_pairs: reporters.values().map(|r| r * (r - 1) / 2).sum(),
                reporters: authors,
            };
            index.hourly.push((hour, reporting));
            hour += HOUR;
        }
        index
    }

    /// The index as a store would hold it at `at`.
    pub fn at(&self, at: u64) -> CoReportsAt<'_> {
        CoReportsAt {
            index: self,
            at,
            last: Mutex::new(None),
        }
    }
}

/// Distinct subjects of the reports live at `at`, but `except`.
fn live_subjects(reports: &[Reported], at: u64, except: Option<u64>) -> Vec<u64> {
    let mut subjects: Vec<u64> = reports
        .iter()
        .filter(|(made, expires, subject)| *made <= at && at < *expires && Some(*subject) != except)
        .map(|r| r.2)
        .collect();
    subjects.sort_unstable();
    subjects.dedup();
    subjects
}

/// The index at one moment, remembering its last answer (every viewer
/// asks about the same witnesses).
pub struct CoReportsAt<'a> {
    index: &'a CoReportIndex,
    at: u64,
    last: Mutex<Option<(Vec<NodeKey>, u64, Shared)>>,
}

impl std::fmt::Debug for CoReportsAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoReportsAt").field("at", &self.at).finish()
    }
}

impl CoReports for CoReportsAt<'_> {
    fn shared(&self, authors: &[NodeKey], subject: &Subject) -> Shared {
        let number = subject_number(subject);
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((asked, about, shared)) = last.as_ref()
            && *about == number
            && asked == authors
        {
            return *shared;
        }
        let shared = self.compute(authors, number);
        *last = Some((authors.to_vec(), number, shared));
        shared
    }
}

impl CoReportsAt<'_> {
    fn compute(&self, authors: &[NodeKey], subject: u64) -> Shared {
        let except = Some(subject);
        let lists: Vec<Vec<u64>> = authors
            .iter()
            .map(|author| {
                self.index
                    .by_author
                    .get(author)
                    .map_or_else(Vec::new, |reports| live_subjects(reports, self.at, except))
            })
            .collect();
        let hourly = &self.index.hourly;
        let i = hourly.partition_point(|(hour, _)| *hour <= self.at);
        let reporting = i
            .checked_sub(1)
            .and_then(|i| hourly.get(i))
            .map_or_else(Reporting::default, |(_, r)| *r);
        shared_by_pairs(lists.iter().map(Vec::as_slice), &reporting)
    }
}
