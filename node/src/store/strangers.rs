//! Statements from strangers: authors outside this node's web of trust.
//!
//! A node keeps them only under a small per-author quota and a total cap, for
//! a short time, so a flood of unvouched keys cannot fill the disk. An entry
//! in the strangers family marks a statement as held that way; when its
//! author enters the web of trust the mark is dropped (the statement is
//! promoted), and when the retention runs out first the statement is deleted.

use std::collections::{HashMap, HashSet};
use std::sync::PoisonError;

use rocksdb::IteratorMode;
use vouch_protocol::{NodeKey, SignedStatement, StatementId};

use super::SortedBatch;
use super::keys;
use super::mirror::Changes;
use super::{Error, Store};

/// How a statement offered to [`Store::insert_admitted`] is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Its author is inside the web of trust (or it is the operator's own).
    Trusted,
    /// Its author is a stranger: keep it only under the quota.
    Stranger,
}

/// Limits on what strangers can make a node keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrangerQuota {
    /// Most statements held for one stranger.
    pub per_author: usize,
    /// Most statements held for all strangers together.
    pub total: u64,
}

impl Default for StrangerQuota {
    fn default() -> Self {
        StrangerQuota {
            per_author: 8,
            total: 10_000,
        }
    }
}

/// What [`Store::settle_strangers`] did.
#[derive(Debug, Default)]
pub struct StrangerSweep {
    /// Statements whose authors are now trusted; kept for good.
    pub promoted: usize,
    /// Statements deleted because their retention ran out first.
    pub dropped: Vec<SignedStatement>,
}

/// Stranger entries added or removed by a write batch not yet applied.
#[derive(Debug, Default)]
pub(super) struct Pending {
    per_author: HashMap<NodeKey, usize>,
    ids: HashSet<StatementId>,
}

impl Pending {
    pub(super) fn add(&mut self, author: &NodeKey, id: &StatementId) {
        *self.per_author.entry(*author).or_default() += 1;
        self.ids.insert(*id);
    }

    pub(super) fn remove(&mut self, author: &NodeKey, id: &StatementId) {
        if self.ids.remove(id)
            && let Some(n) = self.per_author.get_mut(author)
        {
            *n = n.saturating_sub(1);
        }
    }
}

impl Store {
    /// Whether `id` (by `author`) is held under the stranger quota.
    pub(super) fn is_stranger(
        &self,
        author: &NodeKey,
        id: &StatementId,
        pending: &Pending,
    ) -> Result<bool, Error> {
        if pending.ids.contains(id) {
            return Ok(true);
        }
        Ok(self
            .db
            .get_pinned_cf(self.cf(keys::STRANGERS)?, keys::stranger(author, id))?
            .is_some())
    }

    /// Whether one more statement by the stranger `author` fits the quota.
    pub(super) fn stranger_has_room(
        &self,
        author: &NodeKey,
        quota: &StrangerQuota,
        counts: &super::Counts,
        pending: &Pending,
    ) -> Result<bool, Error> {
        if counts.strangers >= quota.total {
            return Ok(false);
        }
        let cf = self.cf(keys::STRANGERS)?;
        let held = self
            .prefix_entries(cf, &author.0)
            .take(quota.per_author.saturating_add(1))
            .count();
        let pending = pending.per_author.get(author).copied().unwrap_or(0);
        Ok(held + pending < quota.per_author)
    }

    /// Counts the stranger entries (at open; bounded by the total quota).
    pub(super) fn count_strangers(&self) -> Result<u64, Error> {
        let cf = self.cf(keys::STRANGERS)?;
        let mut n = 0u64;
        for entry in self.db.iterator_cf(cf, IteratorMode::Start) {
            entry?;
            n += 1;
        }
        Ok(n)
    }

    /// Gives `ids` new ingest sequence numbers, after every one assigned so
    /// far: a promoted statement becomes something this node serves, and
    /// peers whose back-fill watermark passed it while it was a stranger's
    /// get it in their next round.
    fn move_to_end<'s>(
        &'s self,
        batch: &mut SortedBatch<'s>,
        ids: &[StatementId],
        next: &mut super::Counts,
    ) -> Result<(), Error> {
        let (slots, sequence) = (self.cf(keys::SLOTS)?, self.cf(keys::SEQUENCE)?);
        for (id, stored) in ids.iter().zip(self.load_aligned(ids)?) {
            let Some(stored) = stored else {
                continue;
            };
            let body = &stored.statement.body;
            let slot_key = keys::slot(
                &stored.statement.author,
                body.claim.slot_kind(),
                &keys::subject(&body.subject),
            );
            let Some(mut slot) = self
                .db
                .get_pinned_cf(slots, &slot_key)?
                .as_deref()
                .and_then(keys::SlotValue::decode)
                .filter(|slot| slot.id == *id)
            else {
                continue;
            };
            batch.delete_cf(sequence, slot.seq.to_be_bytes());
            slot.seq = next.next_seq;
            next.next_seq += 1;
            batch.put_cf(sequence, slot.seq.to_be_bytes(), id.0);
            batch.put_cf(slots, &slot_key, slot.encode());
        }
        Ok(())
    }

    /// Promotes the statements of strangers who are now trusted (moving them
    /// to the end of the ingest sequence, so peers back-fill them), and
    /// deletes those held since `stored_before` or earlier (their retention
    /// ran out).
    pub fn settle_strangers(
        &self,
        is_trusted: impl Fn(&NodeKey) -> bool,
        stored_before: u64,
    ) -> Result<StrangerSweep, Error> {
        let cf = self.cf(keys::STRANGERS)?;
        let mut promote = Vec::new();
        let mut expire = Vec::new();
        for entry in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (key, value) = entry?;
            let (Some((author, id)), Some(stored_at)) = (
                key.split_first_chunk::<32>()
                    .and_then(|(a, rest)| Some((NodeKey(*a), StatementId(rest.try_into().ok()?)))),
                keys::read_u64(&value),
            ) else {
                // Unreadable entries are dropped rather than kept forever.
                promote.push(key.to_vec());
                continue;
            };
            if is_trusted(&author) {
                promote.push(key.to_vec());
            } else if stored_at <= stored_before {
                expire.push((key.to_vec(), id));
            }
        }
        if promote.is_empty() && expire.is_empty() {
            return Ok(StrangerSweep::default());
        }
        let mut counts = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        // A write between the scan and the lock may have replaced some of
        // these statements (and dropped their entries): count only what is
        // still there, or the stranger count drifts.
        let still_held =
            |key: &[u8]| -> Result<bool, Error> { Ok(self.db.get_pinned_cf(cf, key)?.is_some()) };
        let mut promote_now = Vec::with_capacity(promote.len());
        for key in promote {
            if still_held(&key)? {
                promote_now.push(key);
            }
        }
        let promote = promote_now;
        let mut expire_now = Vec::with_capacity(expire.len());
        for (key, id) in expire {
            if still_held(&key)? {
                expire_now.push((key, id));
            }
        }
        let expire = expire_now;
        let mut next = *counts;
        let mut batch = SortedBatch::default();
        let mut changes = Changes::default();
        let mut sweep = StrangerSweep {
            promoted: promote.len(),
            dropped: Vec::new(),
        };
        for key in &promote {
            batch.delete_cf(cf, key);
        }
        let promoted: Vec<StatementId> = promote
            .iter()
            .filter_map(|key| {
                key.get(32..)
                    .and_then(|id| Some(StatementId(id.try_into().ok()?)))
            })
            .collect();
        self.move_to_end(&mut batch, &promoted, &mut next)?;
        let ids: Vec<StatementId> = expire.iter().map(|(_, id)| *id).collect();
        for ((key, id), stored) in expire.iter().zip(self.load_aligned(&ids)?) {
            batch.delete_cf(cf, key);
            let Some(stored) = stored else {
                continue;
            };
            let statement = stored.statement;
            if self.delete_current(&mut batch, &mut changes, id, &statement)? {
                next.statements = next.statements.saturating_sub(1);
                sweep.dropped.push(statement);
            }
        }
        next.strangers = next
            .strangers
            .saturating_sub((promote.len() + expire.len()) as u64);
        self.commit(batch, changes, &mut counts, next)?;
        Ok(sweep)
    }
}
