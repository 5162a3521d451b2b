//! Durable storage of statements in RocksDB, behind a small face.
//!
//! Callers see [`Store`] with the operations the node needs; column
//! families, key encoding and write options stay in this module. Writes go
//! through one writer lock and one atomic `WriteBatch` per call, with the
//! write-ahead log on, so an acknowledged write survives `kill -9`.
//! All calls block: async callers use `spawn_blocking`.

mod keys;
mod mirror;
mod neighbourhoods;
mod network;
mod read;
mod sorted_batch;
mod strangers;
mod subject_table;
mod write;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, Direction, FlushOptions,
    IteratorMode, Options, ReadOptions,
};
use vouch_protocol::{Claim, Kind, NodeKey, SignedStatement, StatementId, Subject, decode_stored};

use keys::SlotValue;
pub use mirror::MirrorView;
use mirror::{Changes, Mirror};
use sorted_batch::SortedBatch;
pub use strangers::{Admission, StrangerQuota};

/// Most statements one lookup reads about a subject or netblock; beyond this
/// the rest are ignored (and the cap is logged), so one hot subject cannot
/// make lookups unbounded.
pub const MAX_STATEMENTS_PER_LOOKUP: usize = 10_000;

/// Memory all column families' write buffers share.
const MEMTABLE_BUDGET_BYTES: usize = 64 << 20;

/// The column families every ingested statement is looked up in before
/// it is written (is it known? who holds its slot?).
const LOOKED_UP_BEFORE_WRITES: [&str; 2] = [keys::STATEMENTS, keys::SLOTS];

/// Size of a write buffer's bloom filter, as a share of the buffer's
/// 64 MiB ceiling: about 1.3 MB, some 16 bits a key in a full buffer.
const MEMTABLE_BLOOM_RATIO: f64 = 0.02;

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
    /// What scoring reads of every statement in the subject index, in
    /// memory: lookups read nothing from disk.
    mirror: Mirror,
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
        // A store an earlier version wrote may hold families since dropped:
        // RocksDB opens a store only with all of them, so they are opened,
        // then dropped.
        let existing = DB::list_cf(&options, path).unwrap_or_default();
        let dropped: Vec<&str> = keys::DROPPED
            .into_iter()
            .filter(|name| existing.iter().any(|e| e == name))
            .collect();
        let families = keys::ALL.iter().chain(&dropped).map(|name| {
            let mut options = options.clone();
            if LOOKED_UP_BEFORE_WRITES.contains(name) {
                // A whole-key bloom filter in the write buffer: most of
                // these lookups miss (a new statement, an empty slot) and
                // skip the skip list.
                options.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
                options.set_memtable_whole_key_filtering(true);
            }
            ColumnFamilyDescriptor::new(*name, options)
        });
        let mut db = DB::open_cf_descriptors(&options, path, families)?;
        for name in dropped {
            db.drop_cf(name)?;
            tracing::info!(
                family = name,
                "dropped a column family earlier versions kept"
            );
        }
        let mut store = Store {
            db,
            writer: Mutex::new(Counts::default()),
            published: Mutex::new(Counts::default()),
            mirror: Mirror::default(),
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
        store.load_mirror()?;
        Ok(store)
    }

    /// Copies what scoring reads of every statement in the subject index
    /// into memory (at start-up), a page of statements at a time.
    fn load_mirror(&self) -> Result<(), Error> {
        const PAGE: usize = 4096;
        let started = std::time::Instant::now();
        let cf = self.cf(keys::SUBJECTS)?;
        let mut page: Vec<(StatementId, Option<u64>)> = Vec::with_capacity(PAGE);
        let mut loaded = 0;
        // Read once, never again from here: kept out of the block cache.
        let once = || {
            let mut options = ReadOptions::default();
            options.fill_cache(false);
            options
        };
        let mut entries = self
            .db
            .iterator_cf_opt(cf, once(), IteratorMode::Start)
            .peekable();
        let page_options = once();
        while entries.peek().is_some() {
            page.clear();
            for entry in entries.by_ref().take(PAGE) {
                let (_, value) = entry?;
                page.extend(keys::index_entry(&value));
            }
            let ids: Vec<StatementId> = page.iter().map(|(id, _)| *id).collect();
            let mut changes = Changes::default();
            for ((id, first), stored) in page
                .iter()
                .zip(self.load_aligned_with(&ids, &page_options)?)
            {
                if let Some(stored) = stored {
                    changes.add(*id, &stored.statement, *first);
                    loaded += 1;
                }
            }
            self.mirror.apply(changes);
        }
        tracing::info!(statements = loaded, elapsed = ?started.elapsed(), "statements in memory");
        Ok(())
    }

    /// What every lookup reads: the live endorsements, reports and
    /// remediation notices, from memory, as of the last completed write.
    pub fn mirror(&self) -> MirrorView<'_> {
        self.mirror.view()
    }

    /// Writes every column family's write buffers out to table files,
    /// freeing the memory they hold (up to 64 MiB, which bulk ingest
    /// fills and which would otherwise stay taken until more writes come).
    /// Blocking.
    pub fn flush_write_buffers(&self) -> Result<(), Error> {
        let families = keys::ALL
            .iter()
            .map(|name| self.cf(name))
            .collect::<Result<Vec<_>, _>>()?;
        self.db.flush_cfs_opt(&families, &FlushOptions::default())?;
        Ok(())
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
}

/// One key/value pair read by an iterator.
type RawEntry = Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>;

#[cfg(test)]
mod mirror_tests;
#[cfg(test)]
mod tests;
