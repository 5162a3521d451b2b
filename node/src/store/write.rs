//! Writes: admitting statements into their slots (latest wins), keeping
//! the indexes, the counts and the in-memory mirror in step, and sweeping out
//! what expired. One writer at a time, one atomic batch per call.

use super::read::id_of;
use super::*;

impl Store {
    /// Stores verified statements, latest-wins per (author, subject, kind),
    /// idempotent on duplicates, in one atomic write. Results are in input order.
    pub fn insert(&self, statements: &[Verified]) -> Result<Vec<Outcome>, Error> {
        let admitted: Vec<(&Verified, Admission)> =
            statements.iter().map(|v| (v, Admission::Trusted)).collect();
        self.insert_admitted(&admitted, &StrangerQuota::default(), 0)
    }

    /// [`Store::insert`], with statements from strangers held under the
    /// stranger `quota` (and answered `OverQuota` beyond it);
    /// `now` dates their stay.
    pub fn insert_admitted(
        &self,
        statements: &[(&Verified, Admission)],
        quota: &StrangerQuota,
        now: u64,
    ) -> Result<Vec<Outcome>, Error> {
        let cf_slots = self.cf(keys::SLOTS)?;
        let mut counts = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = *counts;
        let mut batch = SortedBatch::default();
        // Slots and stranger entries written earlier in this batch, which the
        // database cannot see yet.
        let mut pending: HashMap<Vec<u8>, SlotValue> = HashMap::new();
        let mut pending_strangers = strangers::Pending::default();
        let mut changes = Changes::default();
        let mut outcomes = Vec::with_capacity(statements.len());
        for (item, admission) in statements {
            let body = &item.statement.body;
            let author = &item.statement.author;
            let subject_key = keys::subject(&body.subject);
            let slot_key = keys::slot(author, body.claim.slot_kind(), &subject_key);
            let current = match pending.get(&slot_key) {
                Some(value) => Some(value.clone()),
                None => self
                    .db
                    .get_cf(cf_slots, &slot_key)?
                    .as_deref()
                    .and_then(SlotValue::decode),
            };
            if let Some(current) = &current {
                if current.id == item.id {
                    outcomes.push(Outcome::Duplicate);
                    continue;
                }
                if !current.loses_to(body.created_at, &item.id) {
                    outcomes.push(Outcome::Stale);
                    continue;
                }
            }
            let replaces_stranger = match &current {
                Some(c) => self.is_stranger(author, &c.id, &pending_strangers)?,
                None => false,
            };
            if *admission == Admission::Stranger
                && !replaces_stranger
                && !self.stranger_has_room(author, quota, &next, &pending_strangers)?
            {
                outcomes.push(Outcome::OverQuota);
                continue;
            }
            if let Some(current) = &current {
                self.remove(
                    &mut batch,
                    &mut changes,
                    &item.statement,
                    &subject_key,
                    current,
                )?;
                if replaces_stranger {
                    batch.delete_cf(
                        self.cf(keys::STRANGERS)?,
                        keys::stranger(author, &current.id),
                    );
                    pending_strangers.remove(author, &current.id);
                    next.strangers = next.strangers.saturating_sub(1);
                }
                next.statements = next.statements.saturating_sub(1);
            }
            // A report renewing a live report (or its retraction) keeps the
            // time of the author's first one: renewals are not fresh news.
            let first_reported = match &current {
                Some(c)
                    if body.claim.slot_kind() == Kind::Report && c.expires_at > body.created_at =>
                {
                    Some(
                        c.first_reported
                            .unwrap_or(c.created_at)
                            .min(body.created_at),
                    )
                    .filter(|first| *first < body.created_at)
                }
                _ => None,
            };
            let value = SlotValue {
                id: item.id,
                created_at: body.created_at,
                seq: next.next_seq,
                expires_at: body.expires_at,
                first_reported,
            };
            self.add(
                &mut batch,
                &mut changes,
                item,
                &subject_key,
                &slot_key,
                &value,
            )?;
            if *admission == Admission::Stranger {
                batch.put_cf(
                    self.cf(keys::STRANGERS)?,
                    keys::stranger(author, &item.id),
                    now.to_be_bytes(),
                );
                pending_strangers.add(author, &item.id);
                next.strangers += 1;
            }
            outcomes.push(Outcome::Stored {
                seq: value.seq,
                superseded: current.map(|c| c.id),
            });
            pending.insert(slot_key, value);
            next.next_seq += 1;
            next.statements += 1;
        }
        if next == *counts {
            return Ok(outcomes);
        }
        self.commit(batch, changes, &mut counts, next)?;
        Ok(outcomes)
    }

    /// Writes `batch` with the counts it leads to (in the same atomic
    /// write), then brings the mirror and the published counts in step.
    /// The caller holds the writer lock: `counts` is what it guards.
    pub(super) fn commit<'s>(
        &'s self,
        mut batch: SortedBatch<'s>,
        changes: Changes,
        counts: &mut Counts,
        next: Counts,
    ) -> Result<(), Error> {
        let meta = self.cf(keys::META)?;
        batch.put_cf(meta, keys::META_COUNT, next.statements.to_be_bytes());
        batch.put_cf(meta, keys::META_NEXT_SEQ, next.next_seq.to_be_bytes());
        self.db.write(batch.into_write_batch())?;
        self.mirror.apply(changes);
        *counts = next;
        self.publish(next);
        Ok(())
    }

    /// Deletes the statement `id` with its slot and index entries, if it
    /// still holds its slot; true when it did.
    pub(super) fn delete_current<'s>(
        &'s self,
        batch: &mut SortedBatch<'s>,
        changes: &mut Changes,
        id: &StatementId,
        statement: &SignedStatement,
    ) -> Result<bool, Error> {
        let slots = self.cf(keys::SLOTS)?;
        let subject_key = keys::subject(&statement.body.subject);
        let slot_key = keys::slot(
            &statement.author,
            statement.body.claim.slot_kind(),
            &subject_key,
        );
        let current = self
            .db
            .get_cf(slots, &slot_key)?
            .as_deref()
            .and_then(SlotValue::decode)
            .filter(|slot| slot.id == *id);
        let Some(slot) = current else {
            return Ok(false);
        };
        self.remove(batch, changes, statement, &subject_key, &slot)?;
        batch.delete_cf(slots, &slot_key);
        Ok(true)
    }

    /// Whether a statement occupies the subject index (tombstones do not).
    pub(super) fn is_live(statement: &SignedStatement) -> bool {
        match statement.body.claim {
            Claim::Trust { weight } => weight > 0,
            Claim::Endorse { .. } | Claim::Report { .. } | Claim::Remediate { .. } => true,
            Claim::Retract { .. } => false,
        }
    }

    pub(super) fn add<'s>(
        &'s self,
        batch: &mut SortedBatch<'s>,
        changes: &mut Changes,
        item: &Verified,
        subject_key: &[u8],
        slot_key: &[u8],
        value: &SlotValue,
    ) -> Result<(), Error> {
        let statement = &item.statement;
        let kind = statement.body.claim.slot_kind();
        batch.put_cf(self.cf(keys::STATEMENTS)?, item.id.0, &item.bytes);
        batch.put_cf(self.cf(keys::SLOTS)?, slot_key, value.encode());
        batch.put_cf(self.cf(keys::SEQUENCE)?, value.seq.to_be_bytes(), item.id.0);
        batch.put_cf(
            self.cf(keys::EXPIRY)?,
            keys::expiry(value.expires_at, &item.id),
            [],
        );
        if Self::is_live(statement) {
            batch.put_cf(
                self.cf(keys::SUBJECTS)?,
                keys::indexed(subject_key, &statement.author, kind),
                keys::index_value(&item.id, value.first_reported),
            );
            changes.add(item.id, statement, value.first_reported);
        }
        Ok(())
    }

    /// Deletes the statement `old` holding the slot of `statement` (same
    /// author, subject and slot kind).
    pub(super) fn remove<'s>(
        &'s self,
        batch: &mut SortedBatch<'s>,
        changes: &mut Changes,
        statement: &SignedStatement,
        subject_key: &[u8],
        old: &SlotValue,
    ) -> Result<(), Error> {
        let kind = statement.body.claim.slot_kind();
        batch.delete_cf(self.cf(keys::STATEMENTS)?, old.id.0);
        batch.delete_cf(self.cf(keys::SOURCES)?, old.id.0);
        batch.delete_cf(self.cf(keys::SEQUENCE)?, old.seq.to_be_bytes());
        batch.delete_cf(
            self.cf(keys::EXPIRY)?,
            keys::expiry(old.expires_at, &old.id),
        );
        batch.delete_cf(
            self.cf(keys::SUBJECTS)?,
            keys::indexed(subject_key, &statement.author, kind),
        );
        changes.remove(&statement.body.subject, old.id);
        Ok(())
    }

    /// Deletes statements that expired at or before `now`, at most
    /// `SWEEP_BATCH` in one atomic write (call again while it returns that
    /// many); returns them (so the trust graph can drop expired edges).
    pub fn sweep_expired(&self, now: u64) -> Result<Vec<SignedStatement>, Error> {
        let expiry = self.cf(keys::EXPIRY)?;
        let limit = now.saturating_add(1).to_be_bytes();
        // Under the writer lock, so no statement enters the range between
        // the scan and the range delete.
        let mut counts = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due: Vec<StatementId> = Vec::new();
        let mut last_key: Option<Box<[u8]>> = None;
        for entry in self.db.iterator_cf(expiry, IteratorMode::Start) {
            let (key, _) = entry?;
            if key.as_ref() >= limit.as_slice() || due.len() >= SWEEP_BATCH {
                break;
            }
            if let Some(id) = key.get(8..).and_then(id_of) {
                due.push(id);
            }
            last_key = Some(key);
        }
        let Some(last_key) = last_key else {
            return Ok(Vec::new());
        };
        let mut next = *counts;
        let mut batch = SortedBatch::default();
        let mut changes = Changes::default();
        let mut expired = Vec::new();
        for (id, stored) in due.iter().zip(self.load_aligned(&due)?) {
            let Some(stored) = stored else {
                continue;
            };
            let statement = stored.statement;
            if !self.delete_current(&mut batch, &mut changes, id, &statement)? {
                continue;
            }
            next.statements = next.statements.saturating_sub(1);
            let stranger_key = keys::stranger(&statement.author, id);
            if self
                .db
                .get_pinned_cf(self.cf(keys::STRANGERS)?, &stranger_key)?
                .is_some()
            {
                batch.delete_cf(self.cf(keys::STRANGERS)?, stranger_key);
                next.strangers = next.strangers.saturating_sub(1);
            }
            expired.push(statement);
        }
        // One range tombstone over the swept expiry keys, so the next sweep
        // does not step over a tombstone per statement from the start.
        let end = [last_key.as_ref(), &[0u8]].concat();
        batch.delete_range_cf(expiry, [].as_slice(), end.as_slice());
        self.commit(batch, changes, &mut counts, next)?;
        Ok(expired)
    }
}
