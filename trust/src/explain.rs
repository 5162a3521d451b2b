//! Why a verdict is what it is: each weighed statement's part in it, typed,
//! and the remediation notices that count.

use std::fmt::Display;

use serde::{Serialize, Serializer};
use vouch_protocol::{EndorseCategory, Kind, NodeKey, ReportCategory, StatementId, Subject};

use crate::Config;
use crate::rank::TrustMap;
use crate::said::{Said, SaidClaim};
use crate::score::{Signal, Weighed};

/// One statement's part in a verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    /// The statement's id (hex in answers).
    #[serde(serialize_with = "as_text")]
    pub id: StatementId,
    /// Its author (a hex public key in answers).
    #[serde(serialize_with = "as_text")]
    pub author: NodeKey,
    /// My trust in the author, 0..=1.
    pub author_trust: f64,
    /// `endorse`, `report` or `remediate`.
    pub kind: Kind,
    /// The endorsement or report category, or the remediation note.
    pub category: Category,
    /// What the statement is about (the neighbour or forwarder, when not
    /// the subject).
    #[serde(serialize_with = "as_text")]
    pub subject: Subject,
    /// Which part of the evidence it is.
    pub signal: Signal,
    /// Seconds since the statement was made.
    pub age_secs: u64,
    /// Decay factor, 0..=1 (faster for reports made before a trusted remediation).
    pub decay: f64,
    /// Whether the report weighs as fresh evidence (see `Reputation::fresh_reporters`).
    pub fresh: bool,
    /// Signed contribution to the score: trust (at most the per-author
    /// cap) × decay, or the fresh weight when that is larger, negative for
    /// reports (0 for remediation notices, which change decay instead).
    pub weight: f64,
    /// Where the statement came from (`cli`, `message`, `junk`, `rspamd`),
    /// for the node's own reports: the engine leaves it empty and the node
    /// fills it in from its records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// The author's mail domain and how far DNS backs it
    /// ("mail.example.org (verified)"); the engine leaves it empty and the
    /// node fills it in from the names it knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
}

/// Writes a key, id or subject as its text form, formatted only when an
/// answer is serialized (lookups that never show it never format it).
pub(crate) fn as_text<T: Display, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// What a contribution says, typed; in answers it reads as one short
/// phrase ("Phishing x4 relayed from 192.0.2.7", "Forwarder",
/// "fixed 3600s ago: account closed").
#[derive(Debug, Clone, PartialEq)]
pub enum Category {
    /// An endorsement, in what capacity.
    Endorse(EndorseCategory),
    /// A report.
    Report {
        /// Of what.
        category: ReportCategory,
        /// Messages seen.
        count: u32,
        /// Where relayed mail came from, if it was relayed.
        via: Option<Via>,
    },
    /// A remediation notice.
    Remediate {
        /// Seconds since the fix.
        fixed_secs_ago: u64,
        /// What was done.
        note: String,
    },
}

/// How a report of relayed mail bears on the subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// Reported against this endorsed forwarder, counted against the subject.
    Forwarder(Subject),
    /// The reported host relayed it from this origin.
    RelayedFrom(std::net::IpAddr),
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Category::Endorse(category) => write!(f, "{category:?}"),
            Category::Report {
                category,
                count,
                via,
            } => {
                write!(f, "{category:?} x{count}")?;
                match via {
                    Some(Via::Forwarder(host)) => write!(f, " via forwarder {host}"),
                    Some(Via::RelayedFrom(origin)) => write!(f, " relayed from {origin}"),
                    None => Ok(()),
                }
            }
            Category::Remediate {
                fixed_secs_ago,
                note,
            } => write!(f, "fixed {fixed_secs_ago}s ago: {note}"),
        }
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

pub(crate) fn remediation_notices<'a>(
    about: &'a [Said],
    trust: &'a TrustMap,
    now: u64,
    config: &'a Config,
) -> impl Iterator<Item = Contribution> + 'a {
    // Only notices that count (by authors trusted enough to move decay),
    // and a few: anyone can publish one, and they must not crowd out the
    // evidence.
    about
        .iter()
        .filter(move |s| trust.get(&s.author) >= config.remediation_min_trust)
        .filter_map(move |s| match &s.claim {
            SaidClaim::Remediate {
                note,
                remediated_at,
            } if s.expires_at > now => Some(Contribution {
                id: s.id,
                author: s.author,
                author_trust: trust.get(&s.author),
                kind: Kind::Remediate,
                category: Category::Remediate {
                    fixed_secs_ago: now.saturating_sub(*remediated_at),
                    note: note.clone(),
                },
                subject: s.subject.clone(),
                signal: Signal::Exact,
                age_secs: now.saturating_sub(s.created_at),
                decay: 1.0,
                fresh: false,
                weight: 0.0,
                source: None,
                author_name: None,
            }),
            _ => None,
        })
        .take(MAX_REMEDIATION_NOTICES)
}

/// Most remediation notices an explanation shows.
const MAX_REMEDIATION_NOTICES: usize = 3;

pub(crate) fn contribution(w: &Weighed) -> Option<Contribution> {
    let said = w.said;
    let category = match &said.claim {
        SaidClaim::Endorse(category) => Category::Endorse(*category),
        SaidClaim::Report {
            category,
            count,
            relayed_from,
        } => Category::Report {
            category: *category,
            count: *count,
            via: match (w.signal, relayed_from) {
                (Signal::Relayed, _) => Some(Via::Forwarder(said.subject.clone())),
                (_, Some(origin)) => Some(Via::RelayedFrom(*origin)),
                _ => None,
            },
        },
        // Only endorsements and reports are weighed.
        SaidClaim::Remediate { .. } => return None,
    };
    Some(Contribution {
        id: said.id,
        author: said.author,
        author_trust: w.trust,
        kind: said.kind(),
        category,
        subject: said.subject.clone(),
        signal: w.signal,
        age_secs: w.age_secs,
        decay: w.decay,
        fresh: w.fresh,
        weight: w.weight,
        source: None,
        author_name: None,
    })
}
