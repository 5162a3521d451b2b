//! Back-fill rounds, the state machine over the [`sync`](super::sync)
//! protocol: with each connected peer, one round at a time (one asked for
//! meanwhile follows it), that reads the saved watermark (or starts from
//! the peer's first statement), asks for a page, ingests it, saves the new watermark,
//! and asks again while the peer has more, up to `MAX_PAGES_PER_ROUND`
//! pages (the rest waits for the next round). [`Rounds`] is the state,
//! without the swarm; the functions below are the store work each step
//! runs on the blocking pool, reporting back to the actor as [`Done`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use libp2p::PeerId;
use libp2p::request_response::ResponseChannel;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::sync::{self, Continue, SyncPage, SyncRequest};
use super::worker::Done;
use crate::clock::unix_now;
use crate::ingest::Ingest;
use crate::store::{self, Store};

/// Back-fill pages asked of one peer in one round (a million statements
/// at the default page size); the rest follows in the next round.
pub const MAX_PAGES_PER_ROUND: u32 = 4096;

/// Where a round starts reading a peer's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// From the saved watermark: what the peer ingested since the last round.
    Watermark,
    /// From the peer's first statement: this node's web of trust grew, and
    /// statements the peer holds from the new authors may lie behind the
    /// watermark.
    Beginning,
}

/// A round running with one peer.
struct Round {
    /// Pages it may still ask for.
    pages_left: u32,
    /// A round asked for while this one ran, to follow it.
    queued: Option<Start>,
}

/// The rounds running, and the requests in flight (`R` names a request:
/// libp2p's request id in the node).
pub struct Rounds<R> {
    page_statements: u32,
    running: HashMap<PeerId, Round>,
    /// Each request in flight: the peer and the watermark asked from.
    requests: HashMap<R, (PeerId, u64)>,
}

impl<R: Hash + Eq> Rounds<R> {
    /// No rounds yet; pages of `page_statements` statements.
    pub fn new(page_statements: u32) -> Self {
        Rounds {
            page_statements,
            running: HashMap::new(),
            requests: HashMap::new(),
        }
    }

    /// Starts a round with `peer` from `start`: true to go now. When one
    /// is running already, the new one is queued to follow it (a round
    /// from the beginning outranks one from the watermark), so a round
    /// asked for while another runs is never lost.
    pub fn begin(&mut self, peer: PeerId, start: Start) -> bool {
        if let Some(round) = self.running.get_mut(&peer) {
            round.queued = match (round.queued, start) {
                (Some(Start::Beginning), _) | (_, Start::Beginning) => Some(Start::Beginning),
                _ => Some(Start::Watermark),
            };
            return false;
        }
        self.running.insert(
            peer,
            Round {
                pages_left: MAX_PAGES_PER_ROUND,
                queued: None,
            },
        );
        true
    }

    /// The request for the next page from watermark `since`, or `None`
    /// when the round is out of pages (or not running): then the caller
    /// ends it.
    pub fn next_page(&mut self, peer: PeerId, since: u64) -> Option<SyncRequest> {
        let round = self.running.get_mut(&peer)?;
        round.pages_left = round.pages_left.checked_sub(1)?;
        Some(SyncRequest {
            since,
            limit: self.page_statements,
        })
    }

    /// Remembers a request sent.
    pub fn sent(&mut self, request: R, peer: PeerId, since: u64) {
        self.requests.insert(request, (peer, since));
    }

    /// A page answered `request`: the watermark it was asked from, if the
    /// request is known.
    pub fn answered(&mut self, request: &R) -> Option<u64> {
        self.requests.remove(request).map(|(_, since)| since)
    }

    /// A request failed: forgets it (the caller ends the round).
    pub fn failed(&mut self, request: &R) {
        self.requests.remove(request);
    }

    /// Ends the round with `peer` (done, failed, or the peer went away);
    /// returns the round queued behind it, for the caller to begin.
    pub fn end(&mut self, peer: &PeerId) -> Option<Start> {
        self.running.remove(peer).and_then(|round| round.queued)
    }
}

/// Reads the watermark to start a round with `peer` from.
pub fn read_watermark(
    tasks: &mut JoinSet<()>,
    store: Arc<Store>,
    peer: PeerId,
    done: mpsc::Sender<Done>,
) {
    tasks.spawn(async move {
        let since =
            tokio::task::spawn_blocking(move || store.sync_watermark(&peer.to_bytes())).await;
        let message = match since {
            Ok(Ok(since)) => Done::SyncFrom(peer, since),
            _ => Done::SyncFailed(peer),
        };
        let _ = done.send(message).await;
    });
}

/// Reads the page a peer asked for (statements by authors this node
/// trusts), to send back on `channel`.
pub fn serve(
    tasks: &mut JoinSet<()>,
    (store, ingest): (Arc<Store>, Arc<Ingest>),
    request: SyncRequest,
    max: u32,
    channel: ResponseChannel<SyncPage>,
    done: mpsc::Sender<Done>,
) {
    tasks.spawn(async move {
        let page = tokio::task::spawn_blocking(move || {
            sync::serve_page(
                &store,
                &request,
                max,
                |author| ingest.trust().is_trusted(author),
                unix_now(),
            )
        })
        .await;
        match page {
            Ok(Ok(page)) => {
                let _ = done.send(Done::Served(channel, page)).await;
            }
            Ok(Err(error)) => tracing::error!(%error, "cannot serve a back-fill page"),
            Err(error) => tracing::error!(%error, "back-fill task failed"),
        }
    });
}

/// Ingests a page `peer` sent in answer to a request from watermark
/// `asked`, then saves the watermark it leads to.
pub fn ingest(
    tasks: &mut JoinSet<()>,
    (store, ingest): (Arc<Store>, Arc<Ingest>),
    peer: PeerId,
    asked: Option<u64>,
    page: SyncPage,
    done: mpsc::Sender<Done>,
) {
    let (next, more) = match sync::continue_after(asked, &page) {
        Continue::From { next, more } => (next, more),
        Continue::Restart => {
            tracing::info!(%peer, "the peer's store was reset; back-filling it from the start");
            (0, true)
        }
    };
    tasks.spawn(async move {
        let ingested = tokio::task::spawn_blocking(move || {
            let outcome = sync::ingest_page(&ingest, page, unix_now())?;
            store.set_sync_watermark(&peer.to_bytes(), next)?;
            Ok::<_, store::Error>(outcome)
        })
        .await;
        let message = match ingested {
            Ok(Ok(outcome)) => Done::Ingested {
                peer,
                outcome,
                next: more.then_some(next),
            },
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot ingest a back-fill page");
                Done::SyncFailed(peer)
            }
            Err(error) => {
                tracing::error!(%error, "back-fill ingest task failed");
                Done::SyncFailed(peer)
            }
        };
        let _ = done.send(message).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_round_per_peer_asks_pages_from_the_watermark_it_is_given() {
        let mut rounds: Rounds<u32> = Rounds::new(500);
        let peer = PeerId::random();
        assert!(rounds.next_page(peer, 0).is_none(), "no round running");
        assert!(rounds.begin(peer, Start::Watermark));
        let request = rounds.next_page(peer, 42).expect("a page");
        assert_eq!((request.since, request.limit), (42, 500));
        rounds.sent(7, peer, 42);
        assert_eq!(rounds.answered(&7), Some(42));
        assert_eq!(rounds.answered(&7), None, "answered once");
        assert_eq!(rounds.end(&peer), None, "nothing queued");
        assert!(
            rounds.begin(peer, Start::Watermark),
            "a new round after the last ended"
        );
    }

    #[test]
    fn a_round_asked_for_while_one_runs_follows_it_the_widest_first() {
        let mut rounds: Rounds<u32> = Rounds::new(500);
        let peer = PeerId::random();
        assert!(rounds.begin(peer, Start::Watermark));
        assert!(!rounds.begin(peer, Start::Watermark), "one round at a time");
        assert!(!rounds.begin(peer, Start::Beginning));
        assert!(!rounds.begin(peer, Start::Watermark));
        assert_eq!(
            rounds.end(&peer),
            Some(Start::Beginning),
            "the web grew meanwhile: the next round reads from the beginning"
        );
        assert!(rounds.begin(peer, Start::Beginning));
        assert_eq!(rounds.end(&peer), None, "queued once");
    }

    #[test]
    fn a_round_stops_after_its_page_budget_and_a_failure_ends_it() {
        let mut rounds: Rounds<u32> = Rounds::new(1);
        let peer = PeerId::random();
        rounds.begin(peer, Start::Watermark);
        let asked = (0..MAX_PAGES_PER_ROUND + 10)
            .map_while(|i| rounds.next_page(peer, u64::from(i)))
            .count();
        assert_eq!(asked, MAX_PAGES_PER_ROUND as usize);
        assert_eq!(rounds.end(&peer), None);
        assert!(
            rounds.begin(peer, Start::Watermark),
            "the spent round ended"
        );
        rounds.sent(1, peer, 0);
        rounds.failed(&1);
        assert_eq!(rounds.answered(&1), None);
        rounds.end(&peer);
        assert!(rounds.begin(peer, Start::Watermark));
    }
}
