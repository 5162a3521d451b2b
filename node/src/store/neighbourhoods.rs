//! Busy netblocks, weighed once for every lookup of their members: a /24
//! with hundreds of reported neighbours is weighed the first time one of
//! its members is asked about, and its other members are then scored from
//! the result (see [`Neighbourhood`]) until a write touches the block, the
//! trust map changes, or the first of its reports expires.

use std::sync::{Arc, Mutex, PoisonError};

use vouch_trust::{Neighbourhood, TrustMap};

use super::keys::NetblockKey;

/// A hash map with a fast hasher seeded per process (peers choose the
/// subjects, hence the blocks, in it).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Fewest statements in a block for it to be kept weighed: a smaller one
/// is as quick to weigh again.
pub const MIN_KEPT_STATEMENTS: usize = 32;

/// Most blocks kept weighed (each about 1 KiB, mostly the reports an
/// explanation may show, whatever its number of members); past it, they
/// are all dropped and the next ones kept afresh.
pub const MAX_KEPT_BLOCKS: usize = 16_384;

/// One weighed block and the trust map it was weighed under.
struct Kept {
    trust: Arc<TrustMap>,
    neighbourhood: Arc<Neighbourhood>,
}

/// The weighed blocks, by their /24 or /48 index key.
#[derive(Default)]
pub struct Neighbourhoods {
    kept: Mutex<HashMap<NetblockKey, Kept>>,
}

impl Neighbourhoods {
    /// The block `key` as weighed under `trust`, when it covers `now`.
    pub fn get(&self, key: &[u8], trust: &Arc<TrustMap>, now: u64) -> Option<Arc<Neighbourhood>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.get(key)
            .filter(|k| Arc::ptr_eq(&k.trust, trust) && k.neighbourhood.covers(now))
            .map(|k| Arc::clone(&k.neighbourhood))
    }

    /// Keeps `neighbourhood`, block `key` weighed under `trust`. Called
    /// under the mirror's read lock, so no write to the block lands
    /// between its weighing and this.
    pub fn keep(&self, key: NetblockKey, trust: &Arc<TrustMap>, neighbourhood: Arc<Neighbourhood>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MAX_KEPT_BLOCKS && !kept.contains_key(&key) {
            // All at once: evicting one at a time from the front of a hash
            // table makes each next search for a front entry longer.
            kept.clear();
        }
        kept.insert(
            key,
            Kept {
                trust: Arc::clone(trust),
                neighbourhood,
            },
        );
    }

    /// Forgets the block `key`: a write changed what its members say.
    pub fn forget(&self, key: &[u8]) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.remove(key);
    }

    /// Blocks kept weighed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl std::fmt::Debug for Neighbourhoods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Neighbourhoods")
            .field("kept", &kept.len())
            .finish()
    }
}
