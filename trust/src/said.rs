//! What scoring reads of a statement, and nothing more: who said what
//! about whom, when, and until when. The node keeps these for every live
//! statement in memory, so a lookup scores from memory; signatures, the
//! statement's encoding and evidence beyond the relay origin stay on disk.

use std::net::IpAddr;

use vouch_protocol::{
    Claim, EndorseCategory, Kind, NodeKey, ReportCategory, SignedStatement, StatementId, Subject,
};

/// One live endorsement, report or remediation notice, as scoring sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    /// The statement's id.
    pub id: StatementId,
    /// Who said it.
    pub author: NodeKey,
    /// About whom.
    pub subject: Subject,
    /// When it was made, Unix seconds.
    pub created_at: u64,
    /// When it expires, Unix seconds.
    pub expires_at: u64,
    /// For a report: when its author first reported the subject (earlier
    /// than `created_at` when the report renews an earlier one, which is
    /// not fresh news); otherwise `created_at`.
    pub first_reported: u64,
    /// What it says.
    pub claim: SaidClaim,
}

/// The claims that bear on a verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum SaidClaim {
    /// "Mail from this sender is legitimate", in what capacity.
    Endorse(EndorseCategory),
    /// "This sender sent me bad mail."
    Report {
        /// What kind of bad mail.
        category: ReportCategory,
        /// How many messages.
        count: u32,
        /// Where the reported host relayed the mail from (the first hop
        /// of the report's relay chain), if it was relayed.
        relayed_from: Option<IpAddr>,
    },
    /// "The cause was fixed at this time."
    Remediate {
        /// When it was fixed, Unix seconds.
        remediated_at: u64,
        /// What was done.
        note: String,
    },
}

impl Said {
    /// What scoring reads of `statement` (whose id is `id`); `first_reported`
    /// is when its author first reported the subject, for a report renewing
    /// an earlier one. `None` for trust statements and retractions, which
    /// never bear on a verdict.
    pub fn of(
        id: StatementId,
        statement: &SignedStatement,
        first_reported: Option<u64>,
    ) -> Option<Said> {
        let body = &statement.body;
        let claim = match &body.claim {
            Claim::Endorse { category } => SaidClaim::Endorse(*category),
            Claim::Report {
                category,
                count,
                evidence,
            } => SaidClaim::Report {
                category: *category,
                count: *count,
                relayed_from: evidence.relay_chain.first().copied(),
            },
            Claim::Remediate {
                remediated_at,
                note,
            } => SaidClaim::Remediate {
                remediated_at: *remediated_at,
                note: note.clone(),
            },
            Claim::Trust { .. } | Claim::Retract { .. } => return None,
        };
        Some(Said {
            id,
            author: statement.author,
            subject: body.subject.clone(),
            created_at: body.created_at,
            expires_at: body.expires_at,
            first_reported: first_reported
                .map_or(body.created_at, |first| first.min(body.created_at)),
            claim,
        })
    }

    /// The statement's kind.
    pub fn kind(&self) -> Kind {
        match self.claim {
            SaidClaim::Endorse(_) => Kind::Endorse,
            SaidClaim::Report { .. } => Kind::Report,
            SaidClaim::Remediate { .. } => Kind::Remediate,
        }
    }

    /// Whether it is a report.
    pub fn is_report(&self) -> bool {
        matches!(self.claim, SaidClaim::Report { .. })
    }

    /// Whether it is a report of mail the reported host relayed.
    pub fn is_relayed_report(&self) -> bool {
        matches!(
            self.claim,
            SaidClaim::Report {
                relayed_from: Some(_),
                ..
            }
        )
    }
}
