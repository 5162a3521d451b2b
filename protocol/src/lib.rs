//! The Vouch wire protocol: what a statement is, how it is encoded and signed,
//! and the rules a statement must pass before any node stores or relays it.
//!
//! This crate is pure — no I/O, no clocks, no async — so the node, the
//! simulator and fuzzers all judge statements with exactly the same code.
//! Time enters as an explicit `now` (seconds since the Unix epoch).
#![deny(missing_docs)]

mod archive;
mod codec;
mod key;
mod sign;
mod statement;
mod subject;
mod validate;

pub use archive::{RECORD_PREFIX_BYTES, RecordError, Records, records, write_record};
pub use codec::{
    DecodeError, MAX_STATEMENT_BYTES, StatementId, decode_signed, decode_stored, encode_signed,
};
pub use key::NodeKey;
pub use sign::{BatchVerifier, Keypair, SignatureError, verify};
pub use statement::{
    Claim, EndorseCategory, Evidence, Kind, ReportCategory, SignedStatement, Statement, VERSION,
};
pub use subject::{Subject, SubjectError};
pub use validate::{Limits, ValidationError, validate};

#[cfg(test)]
mod archive_tests;
#[cfg(test)]
mod tests;
