//! Reads from disk: a statement by id, the statements about a subject
//! (what the in-memory mirror holds, with signatures), an author's slots,
//! and the ingest log for back-fill.

use super::*;

impl Store {
    /// Whether a statement is stored (cheap: lets ingest skip verifying duplicates).
    pub fn contains(&self, id: &StatementId) -> Result<bool, Error> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(keys::STATEMENTS)?, id.0)?
            .is_some())
    }

    /// Creation time of the statement holding an author's slot, if any.
    pub fn slot_created_at(
        &self,
        author: &NodeKey,
        kind: Kind,
        subject: &Subject,
    ) -> Result<Option<u64>, Error> {
        let key = keys::slot(author, kind, &keys::subject(subject));
        Ok(self
            .db
            .get_cf(self.cf(keys::SLOTS)?, key)?
            .as_deref()
            .and_then(SlotValue::decode)
            .map(|s| s.created_at))
    }

    /// The statement holding an author's slot, if any (a retraction included).
    pub fn slot(
        &self,
        author: &NodeKey,
        kind: Kind,
        subject: &Subject,
    ) -> Result<Option<Stored>, Error> {
        let key = keys::slot(author, kind, &keys::subject(subject));
        let Some(slot) = self
            .db
            .get_cf(self.cf(keys::SLOTS)?, key)?
            .as_deref()
            .and_then(SlotValue::decode)
        else {
            return Ok(None);
        };
        Ok(self.get(&slot.id)?.map(|statement| Stored {
            id: slot.id,
            statement,
            first_reported: slot.first_reported,
        }))
    }

    /// Records where one of this node's own statements came from (a tag the
    /// caller defines); it is deleted with the statement.
    pub fn set_source(&self, id: &StatementId, tag: u8) -> Result<(), Error> {
        Ok(self.db.put_cf(self.cf(keys::SOURCES)?, id.0, [tag])?)
    }

    /// The tag [`Store::set_source`] recorded for a statement, if any.
    pub fn source(&self, id: &StatementId) -> Result<Option<u8>, Error> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(keys::SOURCES)?, id.0)?
            .and_then(|tag| tag.first().copied()))
    }

    /// One statement by id.
    pub fn get(&self, id: &StatementId) -> Result<Option<SignedStatement>, Error> {
        Ok(self
            .db
            .get_cf(self.cf(keys::STATEMENTS)?, id.0)?
            .and_then(|bytes| read_stored(id, &bytes)))
    }

    /// Live endorsements, reports and trust statements about exactly `subject`.
    pub fn about(&self, subject: &Subject) -> Result<Vec<Stored>, Error> {
        self.scan_ids(keys::SUBJECTS, &keys::subject(subject))
    }

    /// Live statements about addresses and netblocks inside the /24 or /48
    /// covering `subject` (an IP, or a netblock at least that long), found
    /// by reading the whole subject index: the reference the in-memory
    /// mirror is tested against.
    #[cfg(test)]
    pub fn in_netblock(&self, subject: &Subject) -> Result<Vec<Stored>, Error> {
        let Some(block) = keys::netblock(subject) else {
            return Ok(Vec::new());
        };
        self.scan_all_live(|s| keys::netblock(&s.body.subject).as_ref() == Some(&block))
    }

    /// Live reports whose relay chain names `subject` as the original
    /// source, found by reading the whole subject index: the reference the
    /// mirror is tested against.
    #[cfg(test)]
    pub fn relayed_from(&self, subject: &Subject) -> Result<Vec<Stored>, Error> {
        self.scan_all_live(|s| match &s.body.claim {
            Claim::Report { evidence, .. } => evidence
                .relay_chain
                .first()
                .is_some_and(|ip| Subject::Ip(*ip) == *subject),
            _ => false,
        })
    }

    /// The live statements `keep` accepts, in subject-index order, from a
    /// read of the whole index (a test's store, far smaller than the
    /// [`MAX_STATEMENTS_PER_LOOKUP`] that caps the read).
    #[cfg(test)]
    fn scan_all_live(&self, keep: impl Fn(&SignedStatement) -> bool) -> Result<Vec<Stored>, Error> {
        let mut all = self.scan_ids(keys::SUBJECTS, &[])?;
        all.retain(|stored| keep(&stored.statement));
        Ok(all)
    }

    /// The current statements of one author (including retractions), optionally of one slot kind.
    pub fn by_author(&self, author: &NodeKey, kind: Option<Kind>) -> Result<Vec<Stored>, Error> {
        let mut prefix = author.0.to_vec();
        if let Some(kind) = kind {
            prefix.push(kind.tag());
        }
        let slots = self.cf(keys::SLOTS)?;
        let ids = self
            .prefix_entries(slots, &prefix)
            .filter_map(|entry| {
                entry
                    .ok()
                    .and_then(|(_, v)| SlotValue::decode(&v))
                    .map(|s| s.id)
            })
            .take(MAX_STATEMENTS_PER_LOOKUP)
            .collect();
        self.load(ids)
    }

    /// Every live trust statement (weight > 0), to rebuild the trust graph at start-up.
    pub fn trust_statements(&self) -> Result<Vec<SignedStatement>, Error> {
        let subjects = self.cf(keys::SUBJECTS)?;
        let ids = self
            .prefix_entries(subjects, &[keys::NODE_TAG])
            .filter_map(|entry| {
                entry
                    .ok()
                    .and_then(|(_, v)| keys::index_entry(&v))
                    .map(|(id, _)| id)
            })
            .collect();
        Ok(self.load(ids)?.into_iter().map(|s| s.statement).collect())
    }

    /// Statements with ingest sequence number ≥ `from`, at most `limit`, in
    /// order, with their sequence numbers and the bytes as stored (for
    /// back-fill by peers and export: served as read, never encoded again).
    pub fn since(&self, from: u64, limit: usize) -> Result<Vec<(u64, Verified)>, Error> {
        let sequence = self.cf(keys::SEQUENCE)?;
        let from_key = from.to_be_bytes();
        let entries: Vec<(u64, StatementId)> = self
            .db
            .iterator_cf(sequence, IteratorMode::From(&from_key, Direction::Forward))
            .filter_map(|entry| {
                entry
                    .ok()
                    .and_then(|(k, v)| Some((keys::read_u64(&k)?, id_of(&v)?)))
            })
            .take(limit)
            .collect();
        let cf = self.cf(keys::STATEMENTS)?;
        let values = self
            .db
            .batched_multi_get_cf(cf, entries.iter().map(|(_, id)| &id.0), false);
        let mut out = Vec::with_capacity(entries.len());
        for ((seq, id), value) in entries.into_iter().zip(values) {
            if let Some(bytes) = value?
                && let Some(statement) = read_stored(&id, &bytes)
            {
                let bytes = bytes.to_vec();
                out.push((
                    seq,
                    Verified {
                        id,
                        bytes,
                        statement,
                    },
                ));
            }
        }
        Ok(out)
    }

    pub(super) fn prefix_entries<'a>(
        &'a self,
        cf: &'a ColumnFamily,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = RawEntry> + 'a {
        self.db
            .iterator_cf(cf, IteratorMode::From(prefix, Direction::Forward))
            .take_while(move |entry| entry.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
    }

    /// The statements an index holds under `prefix` (at most
    /// [`MAX_STATEMENTS_PER_LOOKUP`]), read from disk.
    pub(super) fn scan_ids(
        &self,
        family: &'static str,
        prefix: &[u8],
    ) -> Result<Vec<Stored>, Error> {
        let cf = self.cf(family)?;
        let mut ids = Vec::new();
        let mut firsts = Vec::new();
        for entry in self.prefix_entries(cf, prefix) {
            let (_, value) = entry?;
            if let Some((id, first)) = keys::index_entry(&value) {
                ids.push(id);
                firsts.push(first);
            }
            if ids.len() >= MAX_STATEMENTS_PER_LOOKUP {
                tracing::warn!(limit = MAX_STATEMENTS_PER_LOOKUP, "lookup capped");
                break;
            }
        }
        Ok(self
            .load_aligned(&ids)?
            .into_iter()
            .zip(firsts)
            .filter_map(|(stored, first_reported)| {
                stored.map(|s| Stored {
                    first_reported,
                    ..s
                })
            })
            .collect())
    }

    pub(super) fn load(&self, ids: Vec<StatementId>) -> Result<Vec<Stored>, Error> {
        Ok(self.load_aligned(&ids)?.into_iter().flatten().collect())
    }

    pub(super) fn load_aligned(&self, ids: &[StatementId]) -> Result<Vec<Option<Stored>>, Error> {
        self.load_aligned_with(ids, &ReadOptions::default())
    }

    /// [`Store::load_aligned`] with `options` (e.g. not filling the block
    /// cache, for a read of everything that will not be read again).
    pub(super) fn load_aligned_with(
        &self,
        ids: &[StatementId],
        options: &ReadOptions,
    ) -> Result<Vec<Option<Stored>>, Error> {
        let cf = self.cf(keys::STATEMENTS)?;
        let values =
            self.db
                .batched_multi_get_cf_opt(cf, ids.iter().map(|id| &id.0), false, options);
        ids.iter()
            .zip(values)
            .map(|(id, value)| {
                Ok(value?
                    .and_then(|bytes| read_stored(id, &bytes))
                    .map(|statement| Stored {
                        id: *id,
                        statement,
                        first_reported: None,
                    }))
            })
            .collect()
    }
}

pub(super) fn id_of(bytes: &[u8]) -> Option<StatementId> {
    bytes.try_into().ok().map(StatementId)
}

/// Decodes a statement read back from disk (canonical when it was written,
/// so not encoded again to check). Corrupt entries are logged and skipped,
/// never trusted and never a panic.
pub(super) fn read_stored(id: &StatementId, bytes: &[u8]) -> Option<SignedStatement> {
    match decode_stored(bytes) {
        Ok(statement) => Some(statement),
        Err(error) => {
            tracing::error!(%id, %error, "corrupt statement in store; skipped");
            None
        }
    }
}
