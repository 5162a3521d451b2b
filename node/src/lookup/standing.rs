//! The part of an answer a DNS list's A record carries: the verdict, and
//! the categories of the weightiest statements about the sender itself.
//! A few bytes, so it can be kept for every sender answered in the last
//! seconds (see [`super::recent`]), where whole answers are kept only for
//! senders asked about twice.

use vouch_protocol::{EndorseCategory, ReportCategory};

use crate::trust::{Category, Reputation, Signal, Verdict};

/// Where a subject stands, as far as a DNS list's answer code goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The verdict.
    pub verdict: Verdict,
    /// The category of the weightiest report shown about the subject itself.
    pub report: Option<ReportCategory>,
    /// The capacity of the weightiest endorsement shown of the subject itself.
    pub endorsement: Option<EndorseCategory>,
}

impl Standing {
    /// Where `reputation` leaves its subject.
    pub fn of(reputation: &Reputation) -> Standing {
        let exact = || {
            reputation
                .explanation
                .iter()
                .filter(|c| c.signal == Signal::Exact)
        };
        Standing {
            verdict: reputation.verdict,
            report: exact().find_map(|c| match c.category {
                Category::Report { category, .. } => Some(category),
                _ => None,
            }),
            endorsement: exact().find_map(|c| match c.category {
                Category::Endorse(category) => Some(category),
                _ => None,
            }),
        }
    }
}
