//! Index entries read recently, decoded, kept in memory: a sender asked
//! about again (every recipient of every message it sends) is answered
//! without reading and decoding its statements, and its /24's, from disk
//! again. Every write drops the entries under the index prefixes it
//! touched, and a read that raced a write is not kept, so what the cache
//! returns is what the indexes hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::Stored;
use super::presence::{Index, Touched};

/// Most statements kept, over all entries (about 250 bytes each); the
/// cache starts over when full.
pub const MAX_CACHED_STATEMENTS: usize = 100_000;

/// Decoded index entries by (index, prefix).
#[derive(Debug, Default)]
pub struct ReadCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<(Index, Vec<u8>), Arc<Vec<Stored>>>,
    statements: usize,
    /// Bumped by every write: a read that began before it is not kept.
    generation: u64,
}

impl ReadCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What `index` holds under `prefix`, if cached.
    pub fn get(&self, index: Index, prefix: &[u8]) -> Option<Arc<Vec<Stored>>> {
        self.lock().entries.get(&(index, prefix.to_vec())).cloned()
    }

    /// The generation a read starts in (see [`ReadCache::keep`]).
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps what a read that started in `generation` found, unless a
    /// write has landed since.
    pub fn keep(&self, generation: u64, index: Index, prefix: &[u8], found: Arc<Vec<Stored>>) {
        let mut inner = self.lock();
        if inner.generation != generation || found.len() > MAX_CACHED_STATEMENTS {
            return;
        }
        if inner.statements + found.len() > MAX_CACHED_STATEMENTS {
            inner.entries.clear();
            inner.statements = 0;
        }
        inner.statements += found.len();
        if let Some(old) = inner.entries.insert((index, prefix.to_vec()), found) {
            inner.statements -= old.len();
        }
    }

    /// Drops the entries under every prefix a write touched.
    pub fn invalidate(&self, touched: &Touched) {
        let mut inner = self.lock();
        inner.generation += 1;
        for key in touched.added.iter().chain(&touched.removed) {
            if let Some(old) = inner.entries.remove(key) {
                inner.statements -= old.len();
            }
        }
    }
}
