//! A write batch that reaches RocksDB sorted by key within each column
//! family. A write buffer is a skip list that remembers where its last
//! insert went, so keys inserted in order are each found a few steps from
//! the one before; in the order statements arrive (ids are hashes), each
//! would be searched for from the top of a list of hundreds of thousands.

use rocksdb::{AsColumnFamilyRef, ColumnFamily, WriteBatch};

/// Point writes collected in call order, written out sorted by (column
/// family, key); for one key, in the order they were made. A range delete
/// writes out what came before it first, so it is applied after exactly
/// the writes it followed.
#[derive(Default)]
pub(super) struct SortedBatch<'a> {
    pending: Vec<Write<'a>>,
    batch: WriteBatch,
}

/// One point write, until the batch is written out.
struct Write<'a> {
    cf: &'a ColumnFamily,
    key: Vec<u8>,
    /// `None` deletes.
    value: Option<Vec<u8>>,
}

impl<'a> SortedBatch<'a> {
    /// Puts `value` at `key` in `cf`.
    pub(super) fn put_cf(
        &mut self,
        cf: &'a ColumnFamily,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) {
        self.pending.push(Write {
            cf,
            key: key.as_ref().to_vec(),
            value: Some(value.as_ref().to_vec()),
        });
    }

    /// Deletes `key` in `cf`.
    pub(super) fn delete_cf(&mut self, cf: &'a ColumnFamily, key: impl AsRef<[u8]>) {
        self.pending.push(Write {
            cf,
            key: key.as_ref().to_vec(),
            value: None,
        });
    }

    /// Deletes every key of `cf` from `from` up to `to`, not included.
    pub(super) fn delete_range_cf(&mut self, cf: &'a ColumnFamily, from: &[u8], to: &[u8]) {
        self.write_out_pending();
        self.batch.delete_range_cf(cf, from, to);
    }

    /// The RocksDB batch, every write in it.
    pub(super) fn into_write_batch(mut self) -> WriteBatch {
        self.write_out_pending();
        self.batch
    }

    fn write_out_pending(&mut self) {
        // Stable: two writes to one key keep their order.
        self.pending
            .sort_by(|a, b| (a.cf.inner() as usize, &a.key).cmp(&(b.cf.inner() as usize, &b.key)));
        for write in self.pending.drain(..) {
            match write.value {
                Some(value) => self.batch.put_cf(write.cf, write.key, value),
                None => self.batch.delete_cf(write.cf, write.key),
            }
        }
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
        assert_eq!(read(b, "k").as_deref(), Some("other family"));
        assert_eq!(read(b, "m"), None);
        assert_eq!(read(b, "n"), None);
        assert_eq!(read(b, "o").as_deref(), Some("after the range"));
    }
}
