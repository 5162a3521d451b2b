//! Who says something: a node's public key.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A node's ed25519 public key, carried as its raw 32 bytes (parsing it into
/// a curve point is left to verification, which caches the result per author).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeKey(pub [u8; 32]);

impl fmt::Display for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// Writes 32 bytes as 64 lower-case hex digits, without allocating (keys
/// and ids are written into every explained answer).
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8; 32]) -> fmt::Result {
    let mut digits = [0u8; 64];
    hex::encode_to_slice(bytes, &mut digits).map_err(|_| fmt::Error)?;
    f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey({self})")
    }
}

impl FromStr for NodeKey {
    type Err = hex::FromHexError;

    /// Parses 64 hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(s, &mut key)?;
        Ok(NodeKey(key))
    }
}
