//! A write batch that reaches RocksDB sorted by key within each column
//! family. A write buffer is a skip list that remembers where its last
//! insert went, so keys inserted in order are each found a few steps from
//! the one before; in the order statements arrive (ids are hashes), each
//! would be searched for from the top of a list of hundreds of thousands.

use std::cmp::Ordering;

use rocksdb::{AsColumnFamilyRef, ColumnFamily, WriteBatch};

/// Bytes RocksDB adds to a batch for each write, at most: a tag, the
/// family's id and two lengths, each a varint.
const WRITE_OVERHEAD: usize = 16;

/// Point writes collected in call order, written out sorted by (column
/// family, key); for one key, in the order they were made. A range delete
/// writes out what came before it first, so it is applied after exactly
/// the writes it followed.
///
/// Keys and values are copied once, into one buffer, until the batch is
/// written out: no allocation a write. The sort compares a family and a
/// key's first eight bytes as integers, and reads whole keys only where
/// those are equal.
#[derive(Default)]
pub(super) struct SortedBatch<'a> {
    /// Every pending write's key, then its value, back to back.
    bytes: Vec<u8>,
    pending: Vec<Write<'a>>,
    /// Made at the first write out, as large as what it then holds.
    batch: Option<WriteBatch>,
}

/// One point write, until the batch is written out.
struct Write<'a> {
    cf: &'a ColumnFamily,
    /// The key's first eight bytes as a big-endian integer (zero-padded):
    /// ordered as the keys are, where those bytes differ.
    prefix: u64,
    /// Where the key starts in the buffer: also the write's place in call order.
    start: usize,
    key_len: usize,
    /// `None` deletes.
    value_len: Option<usize>,
}

impl Write<'_> {
    fn family(&self) -> usize {
        self.cf.inner() as usize
    }
}

impl<'a> SortedBatch<'a> {
    /// Puts `value` at `key` in `cf`.
    pub(super) fn put_cf(
        &mut self,
        cf: &'a ColumnFamily,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) {
        self.push(cf, key.as_ref(), Some(value.as_ref()));
    }

    /// Deletes `key` in `cf`.
    pub(super) fn delete_cf(&mut self, cf: &'a ColumnFamily, key: impl AsRef<[u8]>) {
        self.push(cf, key.as_ref(), None);
    }

    /// Deletes every key of `cf` from `from` up to `to`, not included.
    pub(super) fn delete_range_cf(&mut self, cf: &'a ColumnFamily, from: &[u8], to: &[u8]) {
        self.write_out_pending();
        self.batch
            .get_or_insert_with(WriteBatch::default)
            .delete_range_cf(cf, from, to);
    }

    /// The RocksDB batch, every write in it.
    pub(super) fn into_write_batch(mut self) -> WriteBatch {
        self.write_out_pending();
        self.batch.unwrap_or_default()
    }

    fn push(&mut self, cf: &'a ColumnFamily, key: &[u8], value: Option<&[u8]>) {
        let mut first = [0u8; 8];
        for (to, from) in first.iter_mut().zip(key) {
            *to = *from;
        }
        self.pending.push(Write {
            cf,
            prefix: u64::from_be_bytes(first),
            start: self.bytes.len(),
            key_len: key.len(),
            value_len: value.map(<[u8]>::len),
        });
        self.bytes.extend_from_slice(key);
        self.bytes.extend_from_slice(value.unwrap_or_default());
    }

    fn slice(&self, start: usize, len: usize) -> &[u8] {
        self.bytes.get(start..start + len).unwrap_or_default()
    }

    /// Family, then key, then call order: a total order, so an unstable
    /// sort keeps two writes to one key in the order they were made.
    fn order(&self, a: &Write, b: &Write) -> Ordering {
        a.family()
            .cmp(&b.family())
            .then(a.prefix.cmp(&b.prefix))
            .then_with(|| {
                self.slice(a.start, a.key_len)
                    .cmp(self.slice(b.start, b.key_len))
            })
            .then(a.start.cmp(&b.start))
    }

    fn write_out_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable_by(|a, b| self.order(a, b));
        let size = self.bytes.len() + pending.len() * WRITE_OVERHEAD;
        let mut batch = self
            .batch
            .take()
            .unwrap_or_else(|| WriteBatch::with_capacity_bytes(size));
        for write in &pending {
            let key = self.slice(write.start, write.key_len);
            match write.value_len {
                Some(len) => {
                    batch.put_cf(write.cf, key, self.slice(write.start + write.key_len, len))
                }
                None => batch.delete_cf(write.cf, key),
            }
        }
        self.batch = Some(batch);
        pending.clear();
        self.pending = pending;
        self.bytes.clear();
    }
}

#[cfg(test)]
mod tests {
    use rocksdb::{DB, Options};

    use super::*;

    #[test]
    fn sorted_writes_end_as_the_writes_in_call_order_would() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = DB::open_cf(&options, dir.path(), ["a", "b"]).expect("open");
        let (a, b) = (
            db.cf_handle("a").expect("cf a"),
            db.cf_handle("b").expect("cf b"),
        );
        db.put_cf(a, "gone", "before").expect("put");
        db.put_cf(b, "m", "before").expect("put");

        let mut batch = SortedBatch::default();
        batch.put_cf(a, "z", "1");
        batch.put_cf(a, "k", "first");
        batch.delete_cf(a, "k");
        batch.put_cf(a, "k", "last");
        batch.put_cf(b, "k", "other family");
        batch.delete_cf(a, "gone");
        batch.put_cf(a, "y", "put, then deleted");
        batch.delete_cf(a, "y");
        // Keys alike in their first eight bytes, and one that is another
        // with a zero byte after it, are told apart by the whole key.
        batch.put_cf(a, "eight-by-one", "first");
        batch.put_cf(a, "eight-by-two", "two");
        batch.put_cf(a, "eight-by-one", "one");
        batch.put_cf(a, b"k\0", "k and a zero");
        // A range delete covers what came before it, not what comes after.
        batch.put_cf(b, "n", "before the range");
        batch.delete_range_cf(b, b"m", b"p");
        batch.put_cf(b, "o", "after the range");
        db.write(batch.into_write_batch()).expect("write");

        let read = |cf, key: &str| {
            db.get_cf(cf, key)
                .expect("get")
                .map(|v| String::from_utf8(v).expect("utf-8"))
        };
        assert_eq!(read(a, "k").as_deref(), Some("last"));
        assert_eq!(read(a, "z").as_deref(), Some("1"));
        assert_eq!(read(a, "gone"), None);
        assert_eq!(read(a, "y"), None);
        assert_eq!(read(a, "eight-by-one").as_deref(), Some("one"));
        assert_eq!(read(a, "eight-by-two").as_deref(), Some("two"));
        assert_eq!(read(a, "k\0").as_deref(), Some("k and a zero"));
        assert_eq!(read(b, "k").as_deref(), Some("other family"));
        assert_eq!(read(b, "m"), None);
        assert_eq!(read(b, "n"), None);
        assert_eq!(read(b, "o").as_deref(), Some("after the range"));
    }
}
