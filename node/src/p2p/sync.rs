//! Back-fill: a request-response protocol by which a node asks a peer for
//! the statements the peer ingested since a remembered watermark (the
//! peer's own ingest sequence number), a page at a time.
//!
//! Pages are bounded in count and bytes, hold only statements the serving
//! node would relay (authors inside its web of trust), and are ingested on
//! arrival through the same path as gossip, so a forged statement in a page
//! is rejected and counted against the peer that sent it.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use vouch_protocol::{Claim, MAX_STATEMENT_BYTES, decode_signed};

use crate::ingest::{Ingest, Ingested};
use crate::store::{self, Store};

/// The protocol name.
pub const PROTOCOL: &str = "/vouch/sync/1";
/// Largest request accepted, in bytes.
pub const MAX_REQUEST_BYTES: u64 = 1024;
/// Most statement bytes put in one page (the response limit adds headroom).
pub const MAX_PAGE_BYTES: usize = 512 * 1024;
/// Largest response accepted, in bytes.
pub const MAX_RESPONSE_BYTES: u64 = (MAX_PAGE_BYTES + 64 * 1024) as u64;

/// "Send me what you ingested from sequence number `since` on."
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The first of the peer's sequence numbers wanted.
    pub since: u64,
    /// Most statements wanted (the server caps it too).
    pub limit: u32,
}

/// One page of statements.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncPage {
    /// Encoded signed statements, in the server's ingest order.
    pub statements: Vec<ByteBuf>,
    /// The watermark to ask from next.
    pub next: u64,
    /// Whether more statements follow.
    pub more: bool,
    /// The server's next sequence number: a watermark beyond it means the
    /// server's store was reset, and back-fill starts over.
    pub server_next_seq: u64,
}

/// Builds the page answering `request` (blocking: reads the store).
/// `relayable` says whether this node would relay an author's statements.
pub fn serve_page(
    store: &Store,
    request: &SyncRequest,
    max_statements: u32,
    relayable: impl Fn(&vouch_protocol::NodeKey) -> bool,
) -> Result<SyncPage, store::Error> {
    let limit = request.limit.clamp(1, max_statements) as usize;
    let entries = store.since(request.since, limit)?;
    let scanned = entries.len();
    let mut page = SyncPage {
        next: request.since,
        server_next_seq: store.counts().next_seq,
        ..SyncPage::default()
    };
    let mut bytes = 0usize;
    for (seq, stored) in entries {
        if bytes >= MAX_PAGE_BYTES {
            page.more = true;
            return Ok(page);
        }
        page.next = seq.saturating_add(1);
        if !relayable(&stored.statement.author) {
            continue;
        }
        match vouch_protocol::encode_signed(&stored.statement) {
            Ok(encoded) => {
                bytes += encoded.len();
                page.statements.push(ByteBuf::from(encoded));
            }
            Err(error) => {
                tracing::error!(id = %stored.id, %error, "cannot re-encode a stored statement")
            }
        }
    }
    page.more = scanned == limit;
    Ok(page)
}

/// What ingesting one page did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PageOutcome {
    /// Newly stored statements.
    pub stored: usize,
    /// Invalid statements (counted against the peer).
    pub rejected: usize,
}

/// Ingests a page (blocking). Trust statements go first and trust is
/// recomputed before the rest, so that statements by authors the page
/// itself brings into the web of trust are admitted as trusted.
pub fn ingest_page(ingest: &Ingest, page: SyncPage, now: u64) -> Result<PageOutcome, store::Error> {
    let mut outcome = PageOutcome::default();
    let (trust, rest): (Vec<Vec<u8>>, Vec<Vec<u8>>) = page
        .statements
        .into_iter()
        .map(ByteBuf::into_vec)
        .partition(|bytes| {
            bytes.len() <= MAX_STATEMENT_BYTES
                && matches!(
                    decode_signed(bytes).map(|s| s.body.claim),
                    Ok(Claim::Trust { .. })
                )
        });
    for part in [trust, rest] {
        if part.is_empty() {
            continue;
        }
        for result in ingest.submit_encoded(part, now)? {
            match result {
                Ingested::Stored { .. } => outcome.stored += 1,
                Ingested::Rejected(_) => outcome.rejected += 1,
                _ => {}
            }
        }
        ingest.trust().recompute_if_dirty();
    }
    Ok(outcome)
}
