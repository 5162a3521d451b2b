//! The wire format's one home: every byte Vouch signs, hashes or sends is
//! produced here, with one fixed bincode configuration.
//!
//! bincode 2.0.1 is pinned (3.0.0 is a tombstone; 2.0.1 is frozen and flagged
//! by RUSTSEC-2025-0141). Nothing outside this module names bincode, so the
//! encoding can be swapped here, with the committed test vectors as the guard.

use std::fmt;

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::statement::{SignedStatement, Statement};

/// Largest encoded signed statement any node accepts, in bytes.
pub const MAX_STATEMENT_BYTES: usize = 2048;

/// Domain-separation tag prefixed to the encoded body before signing, so a
/// Vouch signature can never be replayed as a signature over anything else.
pub(crate) const SIGNING_TAG: &[u8] = b"vouch-statement-v1\0";

type Config = Configuration<LittleEndian, Varint, Limit<MAX_STATEMENT_BYTES>>;

fn config() -> Config {
    bincode::config::standard().with_limit::<MAX_STATEMENT_BYTES>()
}

/// A statement's identity: SHA-256 of its encoded signed form. It is also the
/// gossip message id, so duplicates die at the first hop.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatementId(pub [u8; 32]);

impl StatementId {
    /// Hashes encoded signed-statement bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        StatementId(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for StatementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::key::write_hex(f, &self.0)
    }
}

impl fmt::Debug for StatementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatementId({self})")
    }
}

impl std::str::FromStr for StatementId {
    type Err = hex::FromHexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut id = [0u8; 32];
        hex::decode_to_slice(s, &mut id)?;
        Ok(StatementId(id))
    }
}

/// Why bytes are not a well-formed signed statement.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// More bytes than [`MAX_STATEMENT_BYTES`].
    #[error("statement is {0} bytes, the limit is {MAX_STATEMENT_BYTES}")]
    TooLarge(usize),
    /// The bytes do not decode.
    #[error("malformed statement: {0}")]
    Malformed(String),
    /// Bytes left over after the statement.
    #[error("{0} trailing bytes after the statement")]
    TrailingBytes(usize),
    /// The bytes decode but are not the canonical encoding of what they
    /// decode to (two encodings of one statement would get two ids).
    #[error("statement is not canonically encoded")]
    NotCanonical,
}

/// The exact bytes an author signs: the domain tag followed by the encoded body.
pub(crate) fn signing_message(body: &Statement) -> Vec<u8> {
    let mut message = SIGNING_TAG.to_vec();
    // Encoding serde data into a Vec cannot fail (the limit applies only to
    // decoding); should it ever, the bare tag is signed and verification fails.
    if let Ok(encoded) = bincode::serde::encode_to_vec(body, config()) {
        message.extend_from_slice(&encoded);
    }
    message
}

/// Encodes a signed statement for the wire and for storage.
///
/// Fails only when the statement exceeds [`MAX_STATEMENT_BYTES`].
pub fn encode_signed(statement: &SignedStatement) -> Result<Vec<u8>, DecodeError> {
    let bytes = bincode::serde::encode_to_vec(statement, config())
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Decodes a signed statement, accepting only its canonical encoding.
pub fn decode_signed(bytes: &[u8]) -> Result<SignedStatement, DecodeError> {
    let statement = decode_stored(bytes)?;
    if encode_signed(&statement)? != bytes {
        return Err(DecodeError::NotCanonical);
    }
    Ok(statement)
}

/// Decodes bytes a node stored after [`decode_signed`] accepted them: they
/// were canonical when written, so this skips encoding the statement again
/// to compare (half the cost of a read). Never use it on bytes from outside.
pub fn decode_stored(bytes: &[u8]) -> Result<SignedStatement, DecodeError> {
    if bytes.len() > MAX_STATEMENT_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let (statement, used): (SignedStatement, usize) =
        bincode::serde::decode_from_slice(bytes, config())
            .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - used));
    }
    Ok(statement)
}
