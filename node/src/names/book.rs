//! What this node knows of operators' names: the domains it vouched for by
//! name (pinned to the key their record named then, and re-checked), and
//! the names other operators claim for themselves (checked against DNS
//! when one of them is shown). A record that changes or disappears is
//! reported, never silently followed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use vouch_protocol::NodeKey;

/// Keys to what is known of them (every explanation's author is looked up
/// here, so a fast seeded hasher).
type KeyMap<V> = HashMap<NodeKey, V, foldhash::fast::RandomState>;

/// Most claimed names remembered, and most waiting to be checked.
const MAX_CLAIMS: usize = 4096;
const MAX_WANTED: usize = 1024;

/// The state of a pinned name at its last check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PinState {
    /// The record still names the pinned key.
    Verified,
    /// The record now names another key (not followed).
    Changed {
        /// The key it names now (hex).
        now: String,
    },
    /// The record is gone.
    Missing,
    /// The lookup failed (timeout, broken record); the pin stands.
    Failing {
        /// Why.
        reason: String,
    },
}

/// A domain this node vouched for by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The domain.
    pub domain: String,
    /// The key its record named when it was pinned (hex).
    pub key: String,
    /// The address its record named, if any.
    pub addr: Option<String>,
    /// When it was last checked, Unix seconds.
    pub checked_at: u64,
    /// What the last check found.
    #[serde(flatten)]
    pub state: PinState,
}

/// How far a name shown for a key can be believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// The domain's record names this key.
    Verified,
    /// The key claims the domain, and the record names another key (or the
    /// pinned domain's record changed).
    Mismatch,
    /// Not (yet) checked, or the check failed.
    Unverified,
}

/// A name for a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Name {
    /// The domain.
    pub domain: String,
    /// Whether DNS backs it.
    pub proof: Proof,
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proof = match self.proof {
            Proof::Verified => "verified",
            Proof::Mismatch => "MISMATCH",
            Proof::Unverified => "unverified",
        };
        write!(f, "{} ({proof})", self.domain)
    }
}

#[derive(Debug, Default)]
struct Entries {
    pins: BTreeMap<String, Pin>,
    /// What each key's claim check found (`None`: it claims no name), and when.
    claims: KeyMap<(Option<Name>, u64)>,
    wanted: HashSet<NodeKey, foldhash::fast::RandomState>,
}

/// The book; shared behind an `Arc`, read on every explained lookup.
#[derive(Debug, Default)]
pub struct NameBook {
    entries: RwLock<Entries>,
}

impl NameBook {
    /// A book holding `pins` (as saved).
    pub fn with_pins(pins: Vec<Pin>) -> NameBook {
        let book = NameBook::default();
        book.write().pins = pins.into_iter().map(|p| (p.domain.clone(), p)).collect();
        book
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every pin, by domain.
    pub fn pins(&self) -> Vec<Pin> {
        self.read().pins.values().cloned().collect()
    }

    /// Records or updates a pin.
    pub fn set_pin(&self, pin: Pin) {
        self.write().pins.insert(pin.domain.clone(), pin);
    }

    /// The name to show for `key`: a pinned domain first, then a checked
    /// claim. Unknown keys are queued for a claim check.
    pub fn name_of(&self, key: &NodeKey) -> Option<Name> {
        {
            let entries = self.read();
            // Pins name keys in hex; most nodes have none, and then no key
            // is written out.
            let hex = (!entries.pins.is_empty()).then(|| key.to_string());
            if let Some(pin) = hex
                .as_deref()
                .and_then(|hex| entries.pins.values().find(|p| p.key == hex))
            {
                let proof = match pin.state {
                    PinState::Verified => Proof::Verified,
                    PinState::Changed { .. } => Proof::Mismatch,
                    PinState::Missing | PinState::Failing { .. } => Proof::Unverified,
                };
                return Some(Name {
                    domain: pin.domain.clone(),
                    proof,
                });
            }
            if let Some((name, _)) = entries.claims.get(key) {
                return name.clone();
            }
            if entries.wanted.contains(key) {
                return None;
            }
        }
        let mut entries = self.write();
        if entries.wanted.len() < MAX_WANTED {
            entries.wanted.insert(*key);
        }
        None
    }

    /// Keys waiting for a claim check, at most `n`, taken off the queue.
    pub fn take_wanted(&self, n: usize) -> Vec<NodeKey> {
        let mut entries = self.write();
        let keys: Vec<NodeKey> = entries.wanted.iter().take(n).copied().collect();
        for key in &keys {
            entries.wanted.remove(key);
        }
        keys
    }

    /// Records what checking `key`'s claimed name found (`None`: it claims
    /// none), so the key is not checked again before the next recheck.
    pub fn set_claim(&self, key: NodeKey, name: Option<Name>, now: u64) {
        let mut entries = self.write();
        if entries.claims.len() < MAX_CLAIMS || entries.claims.contains_key(&key) {
            entries.claims.insert(key, (name, now));
        }
    }

    /// Claims checked before `before`: to be checked again.
    pub fn stale_claims(&self, before: u64) -> Vec<NodeKey> {
        self.read()
            .claims
            .iter()
            .filter(|(_, (_, at))| *at < before)
            .map(|(key, _)| *key)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(domain: &str, key: NodeKey, state: PinState) -> Pin {
        Pin {
            domain: domain.into(),
            key: key.to_string(),
            addr: None,
            checked_at: 0,
            state,
        }
    }

    #[test]
    fn pins_name_keys_first_and_say_how_far_to_believe_them() {
        let (a, b, c) = (NodeKey([1; 32]), NodeKey([2; 32]), NodeKey([3; 32]));
        let book = NameBook::with_pins(vec![
            pin("a.example", a, PinState::Verified),
            pin("b.example", b, PinState::Changed { now: c.to_string() }),
        ]);
        assert_eq!(
            book.name_of(&a).unwrap().to_string(),
            "a.example (verified)"
        );
        assert_eq!(book.name_of(&b).unwrap().proof, Proof::Mismatch);
        // Unknown: queued once for a claim check, then named by it.
        assert_eq!(book.name_of(&c), None);
        assert_eq!(book.name_of(&c), None);
        assert_eq!(book.take_wanted(10), vec![c]);
        assert!(book.take_wanted(10).is_empty());
        let claimed = Name {
            domain: "c.example".into(),
            proof: Proof::Verified,
        };
        book.set_claim(c, Some(claimed.clone()), 100);
        assert_eq!(book.name_of(&c), Some(claimed));
        assert_eq!(book.stale_claims(101), vec![c]);
        assert!(book.stale_claims(100).is_empty());
        // A key that claims nothing is not queued again until its recheck.
        let d = NodeKey([4; 32]);
        assert_eq!(book.name_of(&d), None);
        assert_eq!(book.take_wanted(10), vec![d]);
        book.set_claim(d, None, 100);
        assert_eq!(book.name_of(&d), None);
        assert!(book.take_wanted(10).is_empty());
    }
}
