//! Durable storage of statements in RocksDB, behind a small face.
//!
//! Callers see [`Store`] with the operations the node needs; column
//! families, key encoding and write options stay in this module. Writes go
//! through one writer lock and one atomic `WriteBatch` per call, with the
//! write-ahead log on, so an acknowledged write survives `kill -9`.
//! All calls block: async callers use `spawn_blocking`.

mod cache;
mod keys;
mod network;
mod presence;
mod strangers;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, Direction, IteratorMode,
    Options, WriteBatch,
};
use vouch_protocol::{Claim, Kind, NodeKey, SignedStatement, StatementId, Subject, decode_stored};

use cache::ReadCache;
use keys::SlotValue;
use presence::{Index, Presence, Touched};
pub use strangers::{Admission, StrangerQuota};

/// Most statements one lookup reads about a subject or netblock; beyond this
/// the rest are ignored (and the cap is logged), so one hot subject cannot
/// make lookups unbounded.
pub const MAX_STATEMENTS_PER_LOOKUP: usize = 10_000;

/// Memory all column families' write buffers share.
const MEMTABLE_BUDGET_BYTES: usize = 64 << 20;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RocksDB reported an error (I/O, corruption, lock held by another process).
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A column family is missing (the database was not created by this version).
    #[error("column family {0} is missing")]
    MissingColumnFamily(&'static str),
}

/// A statement ready to store: validated, signature-checked, with its id and
/// encoded bytes.
#[derive(Debug, Clone)]
pub struct Verified {
    /// SHA-256 of `bytes`.
    pub id: StatementId,
    /// The canonical encoding.
    pub bytes: Vec<u8>,
    /// The decoded statement.
    pub statement: SignedStatement,
}

/// What happened to one statement offered to [`Store::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored; it now wins its (author, subject, kind) slot.
    Stored {
        /// Its local ingest sequence number.
        seq: u64,
        /// The statement it replaced, if any.
        superseded: Option<StatementId>,
    },
    /// Already stored.
    Duplicate,
    /// An equal or newer statement already holds the slot.
    Stale,
    /// From a stranger whose quota (or the strangers' total) is used up.
    OverQuota,
}

/// A stored statement with its id and local sequence number.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The statement's id.
    pub id: StatementId,
    /// The statement.
    pub statement: SignedStatement,
    /// For a report that renewed the author's earlier report on the same
    /// subject: when that first report was made (read from the subject
    /// indexes; `None` elsewhere).
    pub first_reported: Option<u64>,
}

/// Counts for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Statements stored.
    pub statements: u64,
    /// The next ingest sequence number (one past the last assigned).
    pub next_seq: u64,
    /// Statements held under the stranger quota.
    pub strangers: u64,
}

/// Most statements one expiry sweep deletes (one write, one lock hold).
pub const SWEEP_BATCH: usize = 10_000;

/// The node's statement store.
pub struct Store {
    db: DB,
    /// Serialises writes; holds the counts as the writer sees them.
    writer: Mutex<Counts>,
    /// The counts as of the last completed write, for readers: copied
    /// under a lock never held across I/O, so status and metrics never
    /// wait on a write.
    published: Mutex<Counts>,
    /// Which subjects, netblocks and relay origins have index entries:
    /// a lookup of anything else reads nothing from disk.
    presence: Presence,
    /// Index entries read recently, decoded.
    cache: ReadCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, Error> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // One budget for the write buffers of all column families (each
        // would otherwise take up to 64 MiB of memory of its own).
        options.set_db_write_buffer_size(MEMTABLE_BUDGET_BYTES);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&Cache::new_lru_cache(64 << 20));
        table.set_bloom_filter(10.0, false);
        options.set_block_based_table_factory(&table);
        let families = keys::ALL
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, options.clone()));
        let db = DB::open_cf_descriptors(&options, path, families)?;
        let mut store = Store {
            db,
            writer: Mutex::new(Counts::default()),
            published: Mutex::new(Counts::default()),
            presence: Presence::default(),
            cache: ReadCache::default(),
        };
        let meta = store.cf(keys::META)?;
        let read = |key| -> Result<u64, Error> {
            Ok(store
                .db
                .get_cf(meta, key)?
                .as_deref()
                .and_then(keys::read_u64)
                .unwrap_or(0))
        };
        let counts = Counts {
            statements: read(keys::META_COUNT)?,
            next_seq: read(keys::META_NEXT_SEQ)?.max(1),
            strangers: store.count_strangers()?,
        };
        store.writer = Mutex::new(counts);
        store.published = Mutex::new(counts);
        store.load_presence()?;
        Ok(store)
    }

    /// Records every prefix the subject indexes hold (at start-up).
    fn load_presence(&self) -> Result<(), Error> {
        for index in [Index::Subjects, Index::Netblocks, Index::Relayed] {
            let cf = self.cf(index.family())?;
            let mut last: Vec<u8> = Vec::new();
            for entry in self.db.iterator_cf(cf, IteratorMode::Start) {
                let (key, _) = entry?;
                if let Some(prefix) = index.prefix(&key)
                    && prefix != last.as_slice()
                {
                    self.presence.insert(index, prefix);
                    last = prefix.to_vec();
                }
            }
        }
        Ok(())
    }

    /// Brings the presence record up to date with a write that landed.
    fn settle(&self, touched: Touched) {
        let added: HashSet<(Index, &[u8])> = touched
            .added
            .iter()
            .map(|(index, prefix)| (*index, prefix.as_slice()))
            .collect();
        for (index, prefix) in &added {
            self.presence.insert(*index, prefix);
        }
        for (index, prefix) in &touched.removed {
            if added.contains(&(*index, prefix.as_slice())) {
                continue;
            }
            // Another entry may remain under the prefix; on a read error,
            // keep the prefix (a needless read later, never a missed one).
            let remains = self
                .cf(index.family())
                .map_or(true, |cf| self.prefix_entries(cf, prefix).next().is_some());
            if !remains {
                self.presence.remove(*index, prefix);
            }
        }
        self.cache.invalidate(&touched);
    }

    fn cf(&self, name: &'static str) -> Result<&ColumnFamily, Error> {
        self.db
            .cf_handle(name)
            .ok_or(Error::MissingColumnFamily(name))
    }

    /// Syncs the write-ahead log to disk: what was written so far survives
    /// a power cut, not only a crash. For the operator's own statements,
    /// which no peer can bring back.
    pub fn sync_wal(&self) -> Result<(), Error> {
        Ok(self.db.flush_wal(true)?)
    }

    /// Current counts (as of the last completed write; never waits on one).
    pub fn counts(&self) -> Counts {
        *self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records counts a write just committed, for [`Store::counts`].
    fn publish(&self, counts: Counts) {
        *self
            .published
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = counts;
    }

    /// Stores verified statements, latest-wins per (author, subject, kind),
    /// idempotent on duplicates, in one atomic write. Results are in input order.
    pub fn insert(&self, statements: &[Verified]) -> Result<Vec<Outcome>, Error> {
        let admitted: Vec<(&Verified, Admission)> =
            statements.iter().map(|v| (v, Admission::Trusted)).collect();
        self.insert_admitted(&admitted, &StrangerQuota::default(), 0)
    }

    /// [`Store::insert`], with statements from strangers held under the
    /// stranger `quota` (and answered [`Outcome::OverQuota`] beyond it);
    /// `now` dates their stay.
    pub fn insert_admitted(
        &self,
        statements: &[(&Verified, Admission)],
        quota: &StrangerQuota,
        now: u64,
    ) -> Result<Vec<Outcome>, Error> {
        let (cf_slots, cf_meta) = (self.cf(keys::SLOTS)?, self.cf(keys::META)?);
        let mut counts = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = *counts;
        let mut batch = WriteBatch::default();
        // Slots and stranger entries written earlier in this batch, which the
        // database cannot see yet.
        let mut pending: HashMap<Vec<u8>, SlotValue> = HashMap::new();
        let mut pending_strangers = strangers::Pending::default();
        let mut touched = Touched::default();
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
                    &mut touched,
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
                relay_origin: relay_origin(&item.statement),
            };
            self.add(
                &mut batch,
                &mut touched,
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
        batch.put_cf(cf_meta, keys::META_COUNT, next.statements.to_be_bytes());
        batch.put_cf(cf_meta, keys::META_NEXT_SEQ, next.next_seq.to_be_bytes());
        self.db.write(batch)?;
        self.settle(touched);
        *counts = next;
        self.publish(next);
        Ok(outcomes)
    }

    /// Deletes the statement `id` with its slot and index entries, if it
    /// still holds its slot; true when it did.
    fn delete_current(
        &self,
        batch: &mut WriteBatch,
        touched: &mut Touched,
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
        self.remove(batch, touched, statement, &subject_key, &slot)?;
        batch.delete_cf(slots, &slot_key);
        Ok(true)
    }

    /// Whether a statement occupies the subject index (tombstones do not).
    fn is_live(statement: &SignedStatement) -> bool {
        match statement.body.claim {
            Claim::Trust { weight } => weight > 0,
            Claim::Endorse { .. } | Claim::Report { .. } | Claim::Remediate { .. } => true,
            Claim::Retract { .. } => false,
        }
    }

    fn add(
        &self,
        batch: &mut WriteBatch,
        touched: &mut Touched,
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
                keys::indexed(&[], subject_key, &statement.author, kind),
                keys::index_value(&item.id, value.first_reported),
            );
            touched.added.push((Index::Subjects, subject_key.to_vec()));
            if let Some(origin) = &value.relay_origin {
                batch.put_cf(
                    self.cf(keys::RELAYED)?,
                    keys::indexed(origin, subject_key, &statement.author, kind),
                    keys::index_value(&item.id, value.first_reported),
                );
                touched.added.push((Index::Relayed, origin.clone()));
            }
            if let Some(block) = keys::netblock(&statement.body.subject) {
                batch.put_cf(
                    self.cf(keys::NETBLOCKS)?,
                    keys::indexed(&block, subject_key, &statement.author, kind),
                    keys::index_value(&item.id, value.first_reported),
                );
                touched.added.push((Index::Netblocks, block));
            }
        }
        Ok(())
    }

    /// Deletes the statement `old` holding the slot of `statement` (same
    /// author, subject and slot kind).
    fn remove(
        &self,
        batch: &mut WriteBatch,
        touched: &mut Touched,
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
            keys::indexed(&[], subject_key, &statement.author, kind),
        );
        touched
            .removed
            .push((Index::Subjects, subject_key.to_vec()));
        if let Some(origin) = &old.relay_origin {
            batch.delete_cf(
                self.cf(keys::RELAYED)?,
                keys::indexed(origin, subject_key, &statement.author, kind),
            );
            touched.removed.push((Index::Relayed, origin.clone()));
        }
        if let Some(block) = keys::netblock(&statement.body.subject) {
            batch.delete_cf(
                self.cf(keys::NETBLOCKS)?,
                keys::indexed(&block, subject_key, &statement.author, kind),
            );
            touched.removed.push((Index::Netblocks, block));
        }
        Ok(())
    }

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
        self.scan_index(Index::Subjects, &keys::subject(subject))
    }

    /// Live statements about addresses and netblocks inside the /24 or /48
    /// covering `subject` (an IP, or a netblock at least that long).
    pub fn in_netblock(&self, subject: &Subject) -> Result<Vec<Stored>, Error> {
        match keys::netblock(subject) {
            Some(block) => self.scan_index(Index::Netblocks, &block),
            None => Ok(Vec::new()),
        }
    }

    /// Live reports whose relay chain names `subject` as the original source.
    pub fn relayed_from(&self, subject: &Subject) -> Result<Vec<Stored>, Error> {
        self.scan_index(Index::Relayed, &keys::subject(subject))
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

    /// Deletes statements that expired at or before `now`, at most
    /// [`SWEEP_BATCH`] in one atomic write (call again while it returns that
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
        let mut batch = WriteBatch::default();
        let mut touched = Touched::default();
        let mut expired = Vec::new();
        for (id, stored) in due.iter().zip(self.load_aligned(&due)?) {
            let Some(stored) = stored else {
                continue;
            };
            let statement = stored.statement;
            if !self.delete_current(&mut batch, &mut touched, id, &statement)? {
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
        batch.put_cf(
            self.cf(keys::META)?,
            keys::META_COUNT,
            next.statements.to_be_bytes(),
        );
        self.db.write(batch)?;
        self.settle(touched);
        *counts = next;
        self.publish(next);
        Ok(expired)
    }

    fn prefix_entries<'a>(
        &'a self,
        cf: &'a ColumnFamily,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = RawEntry> + 'a {
        self.db
            .iterator_cf(cf, IteratorMode::From(prefix, Direction::Forward))
            .take_while(move |entry| entry.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
    }

    /// The statements `index` holds under `prefix`: nothing read from disk
    /// when the presence record says there are none.
    fn scan_index(&self, index: Index, prefix: &[u8]) -> Result<Vec<Stored>, Error> {
        if !self.presence.may_hold(index, prefix) {
            return Ok(Vec::new());
        }
        if let Some(cached) = self.cache.get(index, prefix) {
            return Ok(cached.as_ref().clone());
        }
        let generation = self.cache.generation();
        let found = Arc::new(self.scan_ids(index.family(), prefix)?);
        self.cache.keep(generation, index, prefix, found.clone());
        Ok(Arc::unwrap_or_clone(found))
    }

    fn scan_ids(&self, family: &'static str, prefix: &[u8]) -> Result<Vec<Stored>, Error> {
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

    fn load(&self, ids: Vec<StatementId>) -> Result<Vec<Stored>, Error> {
        Ok(self.load_aligned(&ids)?.into_iter().flatten().collect())
    }

    fn load_aligned(&self, ids: &[StatementId]) -> Result<Vec<Option<Stored>>, Error> {
        let cf = self.cf(keys::STATEMENTS)?;
        let values = self
            .db
            .batched_multi_get_cf(cf, ids.iter().map(|id| &id.0), false);
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

/// One key/value pair read by an iterator.
type RawEntry = Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>;

/// The subject key of the first relay hop of a report, if it has one.
fn relay_origin(statement: &SignedStatement) -> Option<Vec<u8>> {
    match &statement.body.claim {
        Claim::Report { evidence, .. } => evidence
            .relay_chain
            .first()
            .map(|ip| keys::subject(&Subject::Ip(*ip))),
        _ => None,
    }
}

fn id_of(bytes: &[u8]) -> Option<StatementId> {
    bytes.try_into().ok().map(StatementId)
}

/// Decodes a statement read back from disk (canonical when it was written,
/// so not encoded again to check). Corrupt entries are logged and skipped,
/// never trusted and never a panic.
fn read_stored(id: &StatementId, bytes: &[u8]) -> Option<SignedStatement> {
    match decode_stored(bytes) {
        Ok(statement) => Some(statement),
        Err(error) => {
            tracing::error!(%id, %error, "corrupt statement in store; skipped");
            None
        }
    }
}

#[cfg(test)]
mod presence_tests;
#[cfg(test)]
mod tests;
