//! Which subjects, netblocks and relay origins the store holds anything
//! about, kept in memory. Most of what a mail server asks about is a
//! sender nobody has said anything about; with this, that answer reads
//! nothing from disk. Keys are kept as 64-bit fingerprints: a collision
//! only costs a disk read that finds nothing, never a wrong answer.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{PoisonError, RwLock};

use super::keys;

/// One of the subject indexes a lookup reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// Statements by exact subject.
    Subjects,
    /// Statements by the /24 or /48 of their subject.
    Netblocks,
    /// Reports by the origin of their relay chain.
    Relayed,
}

impl Index {
    /// The column family holding the index.
    pub fn family(self) -> &'static str {
        match self {
            Index::Subjects => keys::SUBJECTS,
            Index::Netblocks => keys::NETBLOCKS,
            Index::Relayed => keys::RELAYED,
        }
    }

    /// The prefix an index key is grouped by (the subject, netblock or
    /// origin key it starts with).
    pub fn prefix(self, key: &[u8]) -> Option<&[u8]> {
        let length = match self {
            Index::Subjects | Index::Relayed => keys::subject_key_len(key)?,
            Index::Netblocks => keys::netblock_key_len(key)?,
        };
        key.get(..length)
    }
}

/// The prefixes present in each index.
#[derive(Debug, Default)]
pub struct Presence {
    fingerprints: RwLock<HashSet<u64>>,
}

impl Presence {
    /// Whether `index` may hold entries under `prefix` (false: certainly not).
    pub fn may_hold(&self, index: Index, prefix: &[u8]) -> bool {
        self.fingerprints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&fingerprint(index, prefix))
    }

    /// Records that `index` holds entries under `prefix`.
    pub fn insert(&self, index: Index, prefix: &[u8]) {
        self.fingerprints
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(fingerprint(index, prefix));
    }

    /// Records that `index` holds nothing under `prefix` any more.
    pub fn remove(&self, index: Index, prefix: &[u8]) {
        self.fingerprints
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&fingerprint(index, prefix));
    }

    /// Prefixes recorded, over all indexes.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.fingerprints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn fingerprint(index: Index, prefix: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    index.hash(&mut hasher);
    prefix.hash(&mut hasher);
    hasher.finish()
}

/// The index prefixes one write adds entries under, and those it removes
/// entries from (checked again once the write has landed: another entry
/// may remain under the same prefix).
#[derive(Debug, Default)]
pub struct Touched {
    /// Prefixes that gained an entry.
    pub added: Vec<(Index, Vec<u8>)>,
    /// Prefixes that lost an entry.
    pub removed: Vec<(Index, Vec<u8>)>,
}
