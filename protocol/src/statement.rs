//! The statement model: who says what about whom, for how long.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::key::NodeKey;
use crate::subject::Subject;

/// The statement format version this crate writes and accepts.
pub const VERSION: u8 = 1;

/// The unsigned body of a statement: the part the author's signature covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Format version; must be [`VERSION`].
    pub version: u8,
    /// What the statement is about.
    pub subject: Subject,
    /// When the author made it, seconds since the Unix epoch.
    pub created_at: u64,
    /// When it stops counting, seconds since the Unix epoch.
    pub expires_at: u64,
    /// What is said about the subject.
    pub claim: Claim,
}

/// The kind of a statement. Together with author and subject it names the
/// slot a statement occupies: a newer statement in the same slot supersedes
/// the older one. (Serde names, as [`Kind::as_str`] gives them, only
/// matter to human-readable formats: the canonical encoding numbers variants.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Operator-to-operator vouch.
    Trust,
    /// "Mail from this sender is legitimate."
    Endorse,
    /// "This sender sent me bad mail."
    Report,
    /// Withdrawal of an earlier statement.
    Retract,
    /// "The cause of this sender's bad mail was fixed at this time."
    Remediate,
}

impl Kind {
    /// Stable one-byte tag, used in storage keys.
    pub fn tag(self) -> u8 {
        match self {
            Kind::Trust => 1,
            Kind::Endorse => 2,
            Kind::Report => 3,
            Kind::Retract => 4,
            Kind::Remediate => 5,
        }
    }

    /// The inverse of [`Kind::tag`].
    pub fn from_tag(tag: u8) -> Option<Kind> {
        Some(match tag {
            1 => Kind::Trust,
            2 => Kind::Endorse,
            3 => Kind::Report,
            4 => Kind::Retract,
            5 => Kind::Remediate,
            _ => return None,
        })
    }

    /// Lower-case name, as used in the API and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Trust => "trust",
            Kind::Endorse => "endorse",
            Kind::Report => "report",
            Kind::Retract => "retract",
            Kind::Remediate => "remediate",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a statement says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Claim {
    /// "I trust this operator" with a weight of 1..=100; 0 withdraws the vouch.
    /// The subject is a [`Subject::Node`].
    Trust {
        /// How much, 0..=100.
        weight: u8,
    },
    /// "Mail from this sender is legitimate."
    Endorse {
        /// In what capacity the author vouches for the sender.
        category: EndorseCategory,
    },
    /// "This sender sent me bad mail."
    Report {
        /// What kind of bad mail.
        category: ReportCategory,
        /// How many messages the report covers (at least 1).
        count: u32,
        /// Optional supporting evidence.
        evidence: Evidence,
    },
    /// Withdraws the author's statement of `kind` about the same subject.
    Retract {
        /// Which of the author's statements to withdraw.
        kind: Kind,
    },
    /// The appeal path blocklists lack: the sender's operator (or someone
    /// who trusts it) says the cause was fixed. It travels with the listing,
    /// shows in every explanation and, when its author is trusted, lets
    /// reports made before `remediated_at` decay faster.
    Remediate {
        /// When the cause was fixed, Unix seconds (not after `created_at`).
        remediated_at: u64,
        /// What was done, for humans ("compromised account closed").
        note: String,
    },
}

impl Claim {
    /// The statement's own kind.
    pub fn kind(&self) -> Kind {
        match self {
            Claim::Trust { .. } => Kind::Trust,
            Claim::Endorse { .. } => Kind::Endorse,
            Claim::Report { .. } => Kind::Report,
            Claim::Retract { .. } => Kind::Retract,
            Claim::Remediate { .. } => Kind::Remediate,
        }
    }

    /// The kind of slot the statement occupies: its own kind, or for a retraction
    /// the kind it retracts (so a retraction supersedes what it withdraws).
    pub fn slot_kind(&self) -> Kind {
        match self {
            Claim::Retract { kind } => *kind,
            other => other.kind(),
        }
    }
}

/// Why an author endorses a sender. (Serde names only matter to
/// human-readable formats: the canonical encoding numbers variants.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndorseCategory {
    /// The author receives legitimate mail from this sender.
    LegitimateSender,
    /// The author operates this host or domain.
    Operator,
    /// The sender forwards mail (lists, aliases); spam it relays originates elsewhere.
    Forwarder,
}

/// What kind of bad mail a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportCategory {
    /// Unsolicited bulk mail.
    Spam,
    /// Credential theft or impersonation.
    Phishing,
    /// Malicious attachments or links.
    Malware,
    /// Bounces for mail the recipient never sent.
    Backscatter,
}

impl EndorseCategory {
    /// Snake-case name, as in the API and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            EndorseCategory::LegitimateSender => "legitimate_sender",
            EndorseCategory::Operator => "operator",
            EndorseCategory::Forwarder => "forwarder",
        }
    }
}

impl ReportCategory {
    /// Lower-case name, as in the API and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportCategory::Spam => "spam",
            ReportCategory::Phishing => "phishing",
            ReportCategory::Malware => "malware",
            ReportCategory::Backscatter => "backscatter",
        }
    }
}

/// Evidence attached to a report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// SHA-256 hashes of offending messages (for correlation, never content).
    pub message_hashes: Vec<[u8; 32]>,
    /// Relay chain of IPs as seen in Received/ARC headers, nearest hop first;
    /// lets a report against a forwarder be attributed to the original source.
    pub relay_chain: Vec<IpAddr>,
}

/// A statement with its author's key and signature: the unit nodes exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStatement {
    /// The signed body.
    pub body: Statement,
    /// The author's ed25519 public key.
    pub author: NodeKey,
    /// The ed25519 signature over the domain tag and the encoded body.
    #[serde(with = "signature_bytes")]
    pub signature: [u8; 64],
}

/// Serde support for the 64-byte signature (serde derives stop at 32-byte arrays).
mod signature_bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 64], serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(64)?;
        for byte in bytes {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 64], D::Error> {
        struct Bytes64;
        impl<'de> Visitor<'de> for Bytes64 {
            type Value = [u8; 64];
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("64 bytes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; 64], A::Error> {
                let mut out = [0u8; 64];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(i, &self))?;
                }
                Ok(out)
            }
        }
        deserializer.deserialize_tuple(64, Bytes64)
    }
}
