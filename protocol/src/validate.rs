//! The rules a statement must pass before a node stores or relays it.
//!
//! Every rejection names its rule, so a peer's misbehaviour can be counted
//! by kind and an operator's typo explained.

use crate::statement::{Claim, Kind, SignedStatement, VERSION};
use crate::subject::{Subject, SubjectError};

const DAY: u64 = 24 * 60 * 60;

/// The limits statements are checked against. Defaults are what every node
/// on the network uses; changing them splits a node off from the network.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How far in the future `created_at` may be (clock skew allowance).
    pub max_future_skew_secs: u64,
    /// Longest lifetime of a trust statement.
    pub max_ttl_trust_secs: u64,
    /// Longest lifetime of an endorsement.
    pub max_ttl_endorse_secs: u64,
    /// Longest lifetime of a report: reports are about recent incidents.
    pub max_ttl_report_secs: u64,
    /// Most message hashes in one report's evidence.
    pub max_message_hashes: usize,
    /// Longest relay chain in one report's evidence.
    pub max_relay_chain: usize,
    /// Largest message count one report may claim.
    pub max_report_count: u32,
    /// Longest lifetime of a remediation notice.
    pub max_ttl_remediate_secs: u64,
    /// Longest remediation note, in bytes.
    pub max_note_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_future_skew_secs: 5 * 60,
            max_ttl_trust_secs: 366 * DAY,
            max_ttl_endorse_secs: 366 * DAY,
            max_ttl_report_secs: 30 * DAY,
            max_message_hashes: 16,
            max_relay_chain: 16,
            max_report_count: 1_000_000,
            max_ttl_remediate_secs: 30 * DAY,
            max_note_bytes: 280,
        }
    }
}

impl Limits {
    /// Longest lifetime of a statement of `kind`. A retraction may live as
    /// long as the longest statement it could withdraw.
    pub fn max_ttl(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Trust => self.max_ttl_trust_secs,
            Kind::Endorse => self.max_ttl_endorse_secs,
            Kind::Report => self.max_ttl_report_secs,
            Kind::Remediate => self.max_ttl_remediate_secs,
            Kind::Retract => self
                .max_ttl_trust_secs
                .max(self.max_ttl_endorse_secs)
                .max(self.max_ttl_report_secs)
                .max(self.max_ttl_remediate_secs),
        }
    }
}

/// Which rule a statement broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A format version this node does not know.
    #[error("unknown statement version {0}")]
    UnknownVersion(u8),
    /// `created_at` is further in the future than the allowed clock skew.
    #[error("created {ahead_secs}s in the future (limit {limit_secs}s)")]
    FromTheFuture {
        /// Seconds ahead of this node's clock.
        ahead_secs: u64,
        /// Allowed skew.
        limit_secs: u64,
    },
    /// Already expired.
    #[error("expired {0}s ago")]
    Expired(u64),
    /// `expires_at` is not after `created_at`.
    #[error("expires before it is created")]
    EndsBeforeItStarts,
    /// Lifetime longer than the kind allows.
    #[error("a {kind} may live at most {max_secs}s, this one {ttl_secs}s")]
    LivesTooLong {
        /// The statement's kind.
        kind: Kind,
        /// Its lifetime.
        ttl_secs: u64,
        /// The limit for the kind.
        max_secs: u64,
    },
    /// The subject is malformed or not canonical.
    #[error("bad subject: {0}")]
    Subject(#[from] SubjectError),
    /// The subject type does not fit the kind (trust is about nodes; the
    /// rest are about senders).
    #[error("a {kind} cannot be about {subject}")]
    WrongSubject {
        /// The statement's kind.
        kind: Kind,
        /// The subject it names.
        subject: String,
    },
    /// Trust weight above 100.
    #[error("trust weight {0} is outside 0..=100")]
    WeightOutOfRange(u8),
    /// An author vouching for itself.
    #[error("a node cannot vouch for itself")]
    SelfTrust,
    /// Report count 0 or above the limit.
    #[error("report count {count} is outside 1..={max}")]
    CountOutOfRange {
        /// The claimed count.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// Too many message hashes.
    #[error("{count} message hashes, the limit is {max}")]
    TooManyHashes {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Relay chain too long.
    #[error("relay chain of {count} hops, the limit is {max}")]
    RelayChainTooLong {
        /// How many hops were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A retraction of a retraction.
    #[error("a retraction can only withdraw a trust, endorse, report or remediate")]
    RetractOfRetract,
    /// A remediation dated after the statement announcing it.
    #[error("remediated_at is after created_at")]
    RemediatedInTheFuture,
    /// A remediation note that is too long or holds control characters.
    #[error("remediation note must be at most {max} bytes of printable text")]
    BadNote {
        /// The limit.
        max: usize,
    },
}

/// Checks everything about a statement except its signature, at time `now`
/// (seconds since the Unix epoch).
pub fn validate(
    statement: &SignedStatement,
    now: u64,
    limits: &Limits,
) -> Result<(), ValidationError> {
    let body = &statement.body;
    if body.version != VERSION {
        return Err(ValidationError::UnknownVersion(body.version));
    }
    if body.created_at > now.saturating_add(limits.max_future_skew_secs) {
        return Err(ValidationError::FromTheFuture {
            ahead_secs: body.created_at - now,
            limit_secs: limits.max_future_skew_secs,
        });
    }
    if body.expires_at <= body.created_at {
        return Err(ValidationError::EndsBeforeItStarts);
    }
    if body.expires_at <= now {
        return Err(ValidationError::Expired(now - body.expires_at));
    }
    let kind = body.claim.kind();
    let ttl_secs = body.expires_at - body.created_at;
    let max_secs = limits.max_ttl(kind);
    if ttl_secs > max_secs {
        return Err(ValidationError::LivesTooLong {
            kind,
            ttl_secs,
            max_secs,
        });
    }
    body.subject.check_canonical()?;
    let about_node = matches!(body.subject, Subject::Node(_));
    let wants_node = body.claim.slot_kind() == Kind::Trust;
    if about_node != wants_node {
        return Err(ValidationError::WrongSubject {
            kind,
            subject: body.subject.to_string(),
        });
    }
    match &body.claim {
        Claim::Trust { weight } => {
            if *weight > 100 {
                return Err(ValidationError::WeightOutOfRange(*weight));
            }
            if body.subject == Subject::Node(statement.author) {
                return Err(ValidationError::SelfTrust);
            }
        }
        Claim::Endorse { .. } => {}
        Claim::Report {
            count, evidence, ..
        } => {
            if *count == 0 || *count > limits.max_report_count {
                return Err(ValidationError::CountOutOfRange {
                    count: *count,
                    max: limits.max_report_count,
                });
            }
            if evidence.message_hashes.len() > limits.max_message_hashes {
                return Err(ValidationError::TooManyHashes {
                    count: evidence.message_hashes.len(),
                    max: limits.max_message_hashes,
                });
            }
            if evidence.relay_chain.len() > limits.max_relay_chain {
                return Err(ValidationError::RelayChainTooLong {
                    count: evidence.relay_chain.len(),
                    max: limits.max_relay_chain,
                });
            }
        }
        Claim::Retract { kind } => {
            if *kind == Kind::Retract {
                return Err(ValidationError::RetractOfRetract);
            }
        }
        Claim::Remediate {
            remediated_at,
            note,
        } => {
            if *remediated_at > body.created_at {
                return Err(ValidationError::RemediatedInTheFuture);
            }
            if note.len() > limits.max_note_bytes || note.chars().any(char::is_control) {
                return Err(ValidationError::BadNote {
                    max: limits.max_note_bytes,
                });
            }
        }
    }
    Ok(())
}
