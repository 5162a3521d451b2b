//! What the node keeps between runs besides statements: how far it has
//! back-filled from each peer, the peers and addresses it knows (so a
//! restart reconnects without the bootstrap peers), and the domains it
//! vouched for by name.

use super::{Error, Store, keys};

impl Store {
    /// Whether strangers' statements were turned away since the web of
    /// trust last grew (kept across restarts: peers must then be read
    /// from the beginning when it grows).
    pub fn turned_away(&self) -> Result<bool, Error> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(keys::META)?, keys::META_TURNED_AWAY)?
            .is_some())
    }

    /// Records whether strangers' statements were turned away since the
    /// web of trust last grew.
    pub fn set_turned_away(&self, turned_away: bool) -> Result<(), Error> {
        let meta = self.cf(keys::META)?;
        if turned_away {
            self.db.put_cf(meta, keys::META_TURNED_AWAY, [])?;
        } else {
            self.db.delete_cf(meta, keys::META_TURNED_AWAY)?;
        }
        Ok(())
    }

    /// The peer's ingest sequence number this node has back-filled up to
    /// (0: nothing yet). `peer` is the peer's id in bytes.
    pub fn sync_watermark(&self, peer: &[u8]) -> Result<u64, Error> {
        Ok(self
            .db
            .get_cf(self.cf(keys::META)?, watermark_key(peer))?
            .as_deref()
            .and_then(keys::read_u64)
            .unwrap_or(0))
    }

    /// Records how far this node has back-filled from `peer`.
    pub fn set_sync_watermark(&self, peer: &[u8], seq: u64) -> Result<(), Error> {
        self.db
            .put_cf(self.cf(keys::META)?, watermark_key(peer), seq.to_be_bytes())?;
        Ok(())
    }

    /// Forgets the back-fill watermarks of every peer not in `keep` (peer
    /// ids in bytes), so peers that come and go with ever new ids cannot
    /// grow the store; a forgotten peer that returns is back-filled from
    /// the start, which ingest makes harmless. Returns how many went.
    pub fn retain_sync_watermarks(
        &self,
        keep: &std::collections::HashSet<Vec<u8>>,
    ) -> Result<usize, Error> {
        let meta = self.cf(keys::META)?;
        let gone: Vec<Box<[u8]>> = self
            .prefix_entries(meta, keys::META_WATERMARK)
            .filter_map(|entry| entry.ok().map(|(k, _)| k))
            .filter(|k| {
                k.get(keys::META_WATERMARK.len()..)
                    .is_some_and(|peer| !keep.contains(peer))
            })
            .collect();
        for key in &gone {
            self.db.delete_cf(meta, key)?;
        }
        Ok(gone.len())
    }

    /// The serialised peer book, if one was saved.
    pub fn peer_book(&self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.db.get_cf(self.cf(keys::META)?, keys::META_PEER_BOOK)?)
    }

    /// Saves the serialised peer book.
    pub fn set_peer_book(&self, book: &[u8]) -> Result<(), Error> {
        self.db
            .put_cf(self.cf(keys::META)?, keys::META_PEER_BOOK, book)?;
        Ok(())
    }
}

impl Store {
    /// The serialised name pins, if any were saved.
    pub fn name_pins(&self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.db.get_cf(self.cf(keys::META)?, keys::META_NAME_PINS)?)
    }

    /// Saves the serialised name pins.
    pub fn set_name_pins(&self, pins: &[u8]) -> Result<(), Error> {
        self.db
            .put_cf(self.cf(keys::META)?, keys::META_NAME_PINS, pins)?;
        Ok(())
    }
}

fn watermark_key(peer: &[u8]) -> Vec<u8> {
    [keys::META_WATERMARK, peer].concat()
}
