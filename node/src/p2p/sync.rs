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

/// Where back-fill from a peer goes on after one of its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue {
    /// Save `next` as the watermark; ask again from it if `more`.
    From {
        /// The new watermark.
        next: u64,
        /// Whether to ask for the next page now.
        more: bool,
    },
    /// The watermark asked from lies beyond every sequence number the peer
    /// has assigned: its store was reset. Start over from 0.
    Restart,
}

/// What to do after `page` answered a request from watermark `asked`. A
/// page must move the watermark forward, or the round ends (a peer cannot
/// keep a node asking forever).
pub fn continue_after(asked: Option<u64>, page: &SyncPage) -> Continue {
    match asked {
        Some(since) if since > page.server_next_seq && page.statements.is_empty() => {
            Continue::Restart
        }
        _ => Continue::From {
            next: page.next,
            more: page.more && asked.is_some_and(|since| page.next > since),
        },
    }
}

/// Builds the page answering `request` (blocking: reads the store).
/// `relayable` says whether this node would relay an author's statements;
/// statements expired at `now` but not yet swept are left out (the peer
/// would only drop them).
pub fn serve_page(
    store: &Store,
    request: &SyncRequest,
    max_statements: u32,
    relayable: impl Fn(&vouch_protocol::NodeKey) -> bool,
    now: u64,
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
        if !relayable(&stored.statement.author) || stored.statement.body.expires_at <= now {
            continue;
        }
        bytes += stored.bytes.len();
        page.statements.push(ByteBuf::from(stored.bytes));
    }
    page.more = scanned == limit;
    Ok(page)
}

/// What ingesting one page did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageOutcome {
    /// Newly stored statements.
    pub stored: usize,
    /// Invalid statements (counted against the peer; stale and
    /// clock-skewed ones are dropped without counting).
    pub rejected: usize,
    /// Trust statements newly stored as trusted, encoded: to gossip on.
    /// Every other statement's relay depends on the webs of trust, so a
    /// vouch that reached this node by back-fill (its author was offline
    /// or outside every relayer's web when it gossiped) spreads at gossip
    /// speed, not a back-fill round per hop. Reports stay with back-fill.
    pub vouches: Vec<Vec<u8>>,
}

/// Ingests a page (blocking). Trust statements go first and trust is
/// recomputed before the rest, so that statements by authors the page
/// itself brings into the web of trust are admitted as trusted.
pub fn ingest_page(ingest: &Ingest, page: SyncPage, now: u64) -> Result<PageOutcome, store::Error> {
    let mut outcome = PageOutcome::default();
    let items: Vec<Vec<u8>> = page.statements.into_iter().map(ByteBuf::into_vec).collect();
    let bulk = ingest.submit_encoded_trust_first(items, now)?;
    outcome.vouches = bulk.vouches;
    for result in bulk.results {
        match result {
            Ingested::Stored { .. } => outcome.stored += 1,
            Ingested::Rejected(rejection) if rejection.is_senders_fault() => outcome.rejected += 1,
            _ => {}
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vouch_protocol::{Keypair, StatementId, decode_signed};

    use super::*;
    use crate::metrics::Metrics;
    use crate::p2p::tests::report_by;
    use crate::store::Verified;
    use crate::trust::TrustEngine;

    const NOW: u64 = 1_800_000_000;

    fn open() -> (tempfile::TempDir, Arc<Store>, Keypair) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("db")).expect("store"));
        (dir, store, Keypair::from_secret_bytes([5; 32]))
    }

    #[test]
    fn a_peer_whose_store_was_reset_is_back_filled_from_the_start() {
        let page = |next, more, server_next_seq| SyncPage {
            statements: Vec::new(),
            next,
            more,
            server_next_seq,
        };
        // The peer has assigned 1..=40; we had read up to 5000 before its reset.
        assert_eq!(
            continue_after(Some(5000), &page(5000, false, 41)),
            Continue::Restart
        );
        assert_eq!(
            continue_after(Some(10), &page(30, true, 41)),
            Continue::From {
                next: 30,
                more: true
            }
        );
        // No progress, no next page.
        assert_eq!(
            continue_after(Some(30), &page(30, true, 41)),
            Continue::From {
                next: 30,
                more: false
            }
        );
    }

    #[test]
    fn a_page_carrying_a_chain_of_vouches_admits_its_far_end_as_trusted() {
        let (_dir, store, me) = open();
        let trust = Arc::new(TrustEngine::new(me.public(), Default::default()));
        let ingest = Ingest::new(store.clone(), trust, Metrics::default());
        let vouch = |by: &Keypair, whom: &Keypair| {
            vouch_protocol::encode_signed(&by.sign(vouch_protocol::Statement {
                version: vouch_protocol::VERSION,
                subject: vouch_protocol::Subject::Node(whom.public()),
                created_at: NOW - 60,
                expires_at: NOW + 3600,
                claim: vouch_protocol::Claim::Trust { weight: 80 },
            }))
            .expect("encodes")
        };
        let (peer, hub) = (
            Keypair::from_secret_bytes([6; 32]),
            Keypair::from_secret_bytes([7; 32]),
        );
        let operators: Vec<Keypair> = (10..30u8)
            .map(|i| Keypair::from_secret_bytes([i; 32]))
            .collect();
        // The far end first, the vouch that lets it in last: the order a
        // page has no reason to keep.
        let mut statements = Vec::new();
        for (i, operator) in operators.iter().enumerate() {
            for k in 0..10 {
                statements.push(report_by(
                    operator,
                    &format!("192.0.2.{}", i * 10 + k + 1),
                    NOW - 60,
                    NOW + 3600,
                ));
            }
        }
        statements.extend(operators.iter().map(|operator| vouch(&hub, operator)));
        statements.push(vouch(&peer, &hub));
        statements.push(vouch(&me, &peer));
        let total = statements.len();
        let page = SyncPage {
            statements: statements.into_iter().map(ByteBuf::from).collect(),
            next: 1,
            more: false,
            server_next_seq: 1,
        };
        let outcome = ingest_page(&ingest, page, NOW).expect("ingests");
        assert_eq!(outcome.stored, total);
        assert_eq!(
            outcome.vouches.len(),
            22,
            "the page's 22 vouches are gossiped on, not its 200 reports"
        );
        assert_eq!(
            store.counts().strangers,
            0,
            "the hub's 20 vouches and the operators' 200 reports are trusted, not held under the quota of 8 an author"
        );
    }

    #[test]
    fn statements_expired_but_not_yet_swept_are_not_served() {
        let (_dir, store, author) = open();
        let live = report_by(&author, "192.0.2.1", NOW - 60, NOW + 3600);
        let expired = report_by(&author, "192.0.2.2", NOW - 7200, NOW - 1);
        let verified: Vec<Verified> = [live.clone(), expired]
            .into_iter()
            .map(|bytes| Verified {
                id: StatementId::of_bytes(&bytes),
                statement: decode_signed(&bytes).expect("decodes"),
                bytes,
            })
            .collect();
        store.insert(&verified).expect("insert");
        let request = SyncRequest {
            since: 0,
            limit: 10,
        };
        let page = serve_page(&store, &request, 10, |_| true, NOW).expect("page");
        let served: Vec<Vec<u8>> = page.statements.into_iter().map(ByteBuf::into_vec).collect();
        assert_eq!(served, vec![live]);
        assert_eq!(
            page.next, 3,
            "the expired one is passed over, not served again"
        );
    }

    #[test]
    fn a_page_with_stale_or_skewed_statements_costs_the_peer_nothing_but_forgeries_do() {
        let (_dir, store, author) = open();
        let trust = Arc::new(TrustEngine::new(author.public(), Default::default()));
        let ingest = Ingest::new(store, trust, Metrics::default());
        let mut forged = report_by(&author, "192.0.2.4", NOW, NOW + 3600);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let page = SyncPage {
            statements: [
                report_by(&author, "192.0.2.1", NOW - 60, NOW + 3600),
                report_by(&author, "192.0.2.2", NOW - 7200, NOW - 60),
                report_by(&author, "192.0.2.3", NOW + 3600, NOW + 7200),
                forged,
            ]
            .into_iter()
            .map(ByteBuf::from)
            .collect(),
            ..SyncPage::default()
        };
        let outcome = ingest_page(&ingest, page, NOW).expect("ingest");
        assert_eq!(
            outcome,
            PageOutcome {
                stored: 1,
                rejected: 1,
                vouches: Vec::new(),
            }
        );
    }
}
