//! A map from subjects to values for the mirror, where most of the
//! memory goes: a million subjects, most with one statement. A standard
//! hash map keeps each entry in a bucket of a table sized for growth (up
//! to twice as many buckets as entries, every one touched), so a
//! 56-byte entry costs up to 112. Here the table holds slot numbers (4
//! bytes a bucket) and the entries sit densely in one vector of slots,
//! with freed slots reused; a subject's slot number also names it
//! compactly elsewhere (its /24's member list).

use hashbrown::HashTable;
use std::hash::BuildHasher;
use vouch_protocol::Subject;

/// Subjects and their values, each in a numbered slot.
#[derive(Debug)]
pub struct SubjectTable<V> {
    slots: Vec<Option<(Subject, V)>>,
    free: Vec<u32>,
    table: HashTable<u32>,
    /// Seeded per process: peers choose the subjects.
    hasher: foldhash::fast::RandomState,
}

impl<V> Default for SubjectTable<V> {
    fn default() -> Self {
        SubjectTable {
            slots: Vec::new(),
            free: Vec::new(),
            table: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl<V> SubjectTable<V> {
    /// `subject` hashed with the table's per-process seed (also a
    /// compact number for it elsewhere, unpredictable to peers).
    pub fn hash(&self, subject: &Subject) -> u64 {
        self.hasher.hash_one(subject)
    }

    /// The slot holding `subject`, if any.
    pub fn number(&self, subject: &Subject) -> Option<u32> {
        let hash = self.hash(subject);
        let slots = &self.slots;
        self.table
            .find(hash, |&n| holds(slots, n, subject))
            .copied()
    }

    /// The value for `subject`, if any.
    pub fn get(&self, subject: &Subject) -> Option<&V> {
        self.slot(self.number(subject)?).map(|(_, value)| value)
    }

    /// The value for `subject`, if any, to change in place.
    pub fn get_mut(&mut self, subject: &Subject) -> Option<&mut V> {
        let n = self.number(subject)?;
        let (_, value) = self.slots.get_mut(n as usize)?.as_mut()?;
        Some(value)
    }

    /// The subject and value in slot `n`, if it is taken.
    pub fn slot(&self, n: u32) -> Option<(&Subject, &V)> {
        let (subject, value) = self.slots.get(n as usize)?.as_ref()?;
        Some((subject, value))
    }

    /// Puts `subject` (not in the table) with `value` in a free slot, and
    /// returns the slot's number.
    pub fn insert_new(&mut self, subject: Subject, value: V) -> u32 {
        let hash = self.hash(&subject);
        let n = match self.free.pop() {
            Some(n) => {
                if let Some(slot) = self.slots.get_mut(n as usize) {
                    *slot = Some((subject, value));
                }
                n
            }
            None => {
                self.slots.push(Some((subject, value)));
                (self.slots.len() - 1) as u32
            }
        };
        let Self {
            slots,
            table,
            hasher,
            ..
        } = self;
        table.insert_unique(hash, n, |&n| {
            slots
                .get(n as usize)
                .and_then(Option::as_ref)
                .map_or(0, |(subject, _)| hasher.hash_one(subject))
        });
        n
    }

    /// Takes `subject` out, freeing its slot.
    pub fn remove(&mut self, subject: &Subject) -> Option<V> {
        let hash = self.hash(subject);
        let slots = &self.slots;
        let entry = self
            .table
            .find_entry(hash, |&n| holds(slots, n, subject))
            .ok()?;
        let (n, _) = entry.remove();
        let (_, value) = self.slots.get_mut(n as usize)?.take()?;
        self.free.push(n);
        Some(value)
    }

    /// How many subjects it holds.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether it holds no subject.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Every value, in no particular order.
    #[cfg(test)]
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().flatten().map(|(_, value)| value)
    }
}

fn holds<V>(slots: &[Option<(Subject, V)>], n: u32, subject: &Subject) -> bool {
    matches!(slots.get(n as usize), Some(Some((held, _))) if held == subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(n: u32) -> Subject {
        Subject::Ip(IpAddr::V4(Ipv4Addr::from(n)))
    }

    #[test]
    fn inserts_finds_and_removes_as_a_hash_map_does_reusing_freed_slots() {
        let mut table = SubjectTable::default();
        let mut model = HashMap::new();
        // A fixed pseudo-random walk of inserts and removals over 500 subjects.
        let mut x: u32 = 12345;
        for step in 0..20_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let subject = ip((x >> 8) % 500);
            if model.contains_key(&subject) && x.is_multiple_of(3) {
                assert_eq!(table.remove(&subject), model.remove(&subject));
            } else if let Some(value) = table.get_mut(&subject) {
                *value = step;
                model.insert(subject, step);
            } else {
                let n = table.insert_new(subject.clone(), step);
                assert_eq!(table.slot(n), Some((&subject, &step)));
                model.insert(subject, step);
            }
            assert_eq!(table.len(), model.len());
        }
        for n in 0..500 {
            assert_eq!(table.get(&ip(n)), model.get(&ip(n)));
        }
        assert!(table.slots.len() <= 500, "freed slots are reused");
        assert_eq!(table.remove(&ip(1_000)), None);
    }
}
