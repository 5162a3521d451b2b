//! JSON views of protocol types: hex keys and ids, plain subject strings.

use serde::Serialize;
use vouch_protocol::{Claim, SignedStatement, StatementId};

/// A statement as the API shows it.
#[derive(Debug, Serialize)]
pub struct StatementView {
    /// Statement id (hex SHA-256).
    pub id: String,
    /// Author public key (hex).
    pub author: String,
    /// Subject, canonical form.
    pub subject: String,
    /// `trust`, `endorse`, `report` or `retract`.
    pub kind: &'static str,
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
    /// Trust weight (trust statements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
    /// Endorsement or report category, snake case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<&'static str>,
    /// Messages covered (reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Relay chain (reports), nearest hop first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relay_chain: Vec<String>,
    /// Message hashes (reports), hex.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub message_hashes: Vec<String>,
    /// When the cause was fixed (remediation notices), Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediated_at: Option<u64>,
    /// What was done (remediation notices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The retracted kind (retractions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retracts: Option<&'static str>,
}

impl StatementView {
    /// Builds the view of a stored statement.
    pub fn new(id: &StatementId, statement: &SignedStatement) -> Self {
        let body = &statement.body;
        let mut view = StatementView {
            id: id.to_string(),
            author: statement.author.to_string(),
            subject: body.subject.to_string(),
            kind: body.claim.kind().as_str(),
            created_at: body.created_at,
            expires_at: body.expires_at,
            weight: None,
            category: None,
            count: None,
            relay_chain: Vec::new(),
            message_hashes: Vec::new(),
            retracts: None,
            remediated_at: None,
            note: None,
        };
        match &body.claim {
            Claim::Trust { weight } => view.weight = Some(*weight),
            Claim::Endorse { category } => view.category = Some(category.as_str()),
            Claim::Report {
                category,
                count,
                evidence,
            } => {
                view.category = Some(category.as_str());
                view.count = Some(*count);
                view.relay_chain = evidence
                    .relay_chain
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                view.message_hashes = evidence.message_hashes.iter().map(hex::encode).collect();
            }
            Claim::Retract { kind } => view.retracts = Some(kind.as_str()),
            Claim::Remediate {
                remediated_at,
                note,
            } => {
                view.remediated_at = Some(*remediated_at);
                view.note = Some(note.clone());
            }
        }
        view
    }
}
