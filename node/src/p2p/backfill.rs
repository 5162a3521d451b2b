//! Back-fill rounds, the state machine over the [`sync`](super::sync)
//! protocol: with each connected peer, one round at a time (one asked for
//! meanwhile follows it), that reads the saved watermark (or starts from
//! the peer's first statement), asks for a page, ingests it, saves the new
//! watermark, and goes on while the peer has more, up to
//! `MAX_PAGES_PER_ROUND` pages (the rest waits for the next round). The
//! next page is asked for as soon as a page arrives, so the peer reads it
//! and sends it while this node ingests the one before: a round costs the
//! slower of the two, not their sum plus a round trip a page. Pages are
//! ingested one at a time, in order, and at most one more waits, so a
//! round holds at most two pages. [`Rounds`] is the state, without the
//! swarm; the functions below are the store work each step runs on the
//! blocking pool, reporting back to the actor as [`Done`].

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
    /// Which round it is: a page ingested for an earlier round with the
    /// same peer (one that ended while the page was being ingested) does
    /// not move this one on.
    id: u64,
    /// Pages it may still ask for.
    pages_left: u32,
    /// A round asked for while this one ran, to follow it.
    queued: Option<Start>,
    /// Whether a page is being ingested.
    ingesting: bool,
    /// Whether a page is asked for and not answered yet.
    asking: bool,
    /// A page that arrived while the one before it was being ingested.
    waiting: Option<Arrived>,
}

/// A page that arrived, with where it leaves the round.
#[derive(Debug)]
struct Arrived {
    page: SyncPage,
    /// The watermark to save once it is ingested.
    watermark: u64,
    /// Where to ask from next, when the peer has more.
    more_from: Option<u64>,
}

/// What the actor does next in a round.
#[derive(Debug)]
pub enum Next {
    /// Ingest `page`, then save `watermark`; meanwhile ask for the next
    /// page with `ask`, if any.
    Ingest {
        /// The round it is for.
        round: u64,
        /// The page.
        page: SyncPage,
        /// The watermark it leads to.
        watermark: u64,
        /// The request for the page after it.
        ask: Option<SyncRequest>,
    },
    /// Nothing until a page arrives or one is ingested.
    Wait,
    /// The round is over: the caller ends it.
    Over,
}

/// The rounds running, and the requests in flight (`R` names a request:
/// libp2p's request id in the node).
pub struct Rounds<R> {
    page_statements: u32,
    running: HashMap<PeerId, Round>,
    /// The id of the next round to begin.
    next_round: u64,
    /// Each request in flight: the peer and the watermark asked from.
    requests: HashMap<R, (PeerId, u64)>,
}

impl<R: Hash + Eq> Rounds<R> {
    /// No rounds yet; pages of `page_statements` statements.
    pub fn new(page_statements: u32) -> Self {
        Rounds {
            page_statements,
            running: HashMap::new(),
            next_round: 0,
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
        self.next_round += 1;
        self.running.insert(
            peer,
            Round {
                id: self.next_round,
                pages_left: MAX_PAGES_PER_ROUND,
                queued: None,
                ingesting: false,
                asking: false,
                waiting: None,
            },
        );
        true
    }

    /// The request for the round's first page, from watermark `since`, or
    /// `None` when the round is not running: then the caller ends it.
    pub fn first_page(&mut self, peer: PeerId, since: u64) -> Option<SyncRequest> {
        let round = self.running.get_mut(&peer)?;
        ask(round, self.page_statements, since)
    }

    /// Remembers a request sent.
    pub fn sent(&mut self, request: R, peer: PeerId, since: u64) {
        self.requests.insert(request, (peer, since));
    }

    /// `page` answered `request`: the peer it came from and what to do,
    /// or `None` when the request is unknown or its round is over (the
    /// page is dropped: ingesting it would move the watermark past a
    /// page that failed).
    pub fn arrived(&mut self, request: &R, page: SyncPage) -> Option<(PeerId, Next)> {
        let (peer, asked) = self.requests.remove(request)?;
        let round = self.running.get_mut(&peer)?;
        round.asking = false;
        let (watermark, more_from) = match sync::continue_after(Some(asked), &page) {
            Continue::From { next, more } => (next, more.then_some(next)),
            Continue::Restart => {
                tracing::info!(%peer, "the peer's store was reset; back-filling it from the start");
                (0, Some(0))
            }
        };
        let arrived = Arrived {
            page,
            watermark,
            more_from,
        };
        if round.ingesting {
            round.waiting = Some(arrived);
            return Some((peer, Next::Wait));
        }
        Some((peer, ingest_next(round, self.page_statements, arrived)))
    }

    /// A page of round `round` with `peer` was ingested (`ok`) or could
    /// not be: what next.
    pub fn ingested(&mut self, peer: PeerId, round: u64, ok: bool) -> Next {
        let Some(round) = self.running.get_mut(&peer).filter(|r| r.id == round) else {
            return Next::Wait;
        };
        round.ingesting = false;
        if !ok {
            return Next::Over;
        }
        match round.waiting.take() {
            Some(arrived) => ingest_next(round, self.page_statements, arrived),
            None if round.asking => Next::Wait,
            None => Next::Over,
        }
    }

    /// A request failed: forgets it; the round is over unless a page is
    /// being ingested (then it is over once that is done).
    pub fn failed(&mut self, request: &R) -> Option<(PeerId, Next)> {
        let (peer, _) = self.requests.remove(request)?;
        let round = self.running.get_mut(&peer)?;
        round.asking = false;
        Some((
            peer,
            if round.ingesting {
                Next::Wait
            } else {
                Next::Over
            },
        ))
    }

    /// Ends the round with `peer` (done, failed, or the peer went away),
    /// forgetting its requests in flight; returns the round queued behind
    /// it, for the caller to begin.
    pub fn end(&mut self, peer: &PeerId) -> Option<Start> {
        self.requests.retain(|_, (asked_of, _)| asked_of != peer);
        self.running.remove(peer).and_then(|round| round.queued)
    }
}

/// Starts ingesting `arrived`, asking meanwhile for the page after it.
fn ingest_next(round: &mut Round, page_statements: u32, arrived: Arrived) -> Next {
    let ask = arrived
        .more_from
        .and_then(|since| ask(round, page_statements, since));
    round.ingesting = true;
    Next::Ingest {
        round: round.id,
        page: arrived.page,
        watermark: arrived.watermark,
        ask,
    }
}

/// The request for a round's next page, from `since`, counted against
/// its budget; `None` when the budget is spent.
fn ask(round: &mut Round, page_statements: u32, since: u64) -> Option<SyncRequest> {
    round.pages_left = round.pages_left.checked_sub(1)?;
    round.asking = true;
    Some(SyncRequest {
        since,
        limit: page_statements,
    })
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

/// Ingests a page `peer` sent, then saves the watermark it leads to.
pub fn ingest(
    tasks: &mut JoinSet<()>,
    (store, ingest): (Arc<Store>, Arc<Ingest>),
    (peer, round): (PeerId, u64),
    page: SyncPage,
    watermark: u64,
    done: mpsc::Sender<Done>,
) {
    tasks.spawn(async move {
        let ingested = tokio::task::spawn_blocking(move || {
            let outcome = sync::ingest_page(&ingest, page, unix_now())?;
            store.set_sync_watermark(&peer.to_bytes(), watermark)?;
            Ok::<_, store::Error>(outcome)
        })
        .await;
        let outcome = match ingested {
            Ok(Ok(outcome)) => Some(outcome),
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot ingest a back-fill page");
                None
            }
            Err(error) => {
                tracing::error!(%error, "back-fill ingest task failed");
                None
            }
        };
        let message = Done::Ingested {
            peer,
            round,
            outcome,
        };
        let _ = done.send(message).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page from a peer whose sequence numbers run to `server_next_seq`.
    fn page(next: u64, more: bool, server_next_seq: u64) -> SyncPage {
        SyncPage {
            statements: Vec::new(),
            next,
            more,
            server_next_seq,
        }
    }

    /// The watermark and the request asked meanwhile, of an `Ingest` step.
    fn ingest_step(next: Option<(PeerId, Next)>) -> (u64, Option<u64>) {
        match next {
            Some((_, Next::Ingest { watermark, ask, .. })) => {
                (watermark, ask.map(|request| request.since))
            }
            other => panic!("expected a page to ingest, got {other:?}"),
        }
    }

    /// The id of the round running with `peer`.
    fn round_of(rounds: &Rounds<u32>, peer: &PeerId) -> u64 {
        rounds.running.get(peer).map(|r| r.id).expect("a round")
    }

    #[test]
    fn one_round_per_peer_asks_pages_from_the_watermark_it_is_given() {
        let mut rounds: Rounds<u32> = Rounds::new(500);
        let peer = PeerId::random();
        assert!(rounds.first_page(peer, 0).is_none(), "no round running");
        assert!(rounds.begin(peer, Start::Watermark));
        let request = rounds.first_page(peer, 42).expect("a page");
        assert_eq!((request.since, request.limit), (42, 500));
        rounds.sent(7, peer, 42);
        assert_eq!(
            ingest_step(rounds.arrived(&7, page(60, true, 100))),
            (60, Some(60)),
            "ingested to watermark 60, and the next page asked from there at once"
        );
        assert!(
            rounds.arrived(&7, page(60, true, 100)).is_none(),
            "answered once"
        );
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

    /// The next page is asked for while one is ingested; one that arrives
    /// meanwhile waits its turn, and nothing more is asked until it has it.
    #[test]
    fn pages_are_asked_one_ahead_and_ingested_one_at_a_time_in_order() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let peer = PeerId::random();
        rounds.begin(peer, Start::Watermark);
        rounds.first_page(peer, 0).expect("a page");
        rounds.sent(1, peer, 0);
        assert_eq!(
            ingest_step(rounds.arrived(&1, page(100, true, 300))),
            (100, Some(100))
        );
        rounds.sent(2, peer, 100);
        assert!(
            matches!(
                rounds.arrived(&2, page(200, true, 300)),
                Some((_, Next::Wait))
            ),
            "the first page is still being ingested"
        );
        let (watermark, ask) = match rounds.ingested(peer, round_of(&rounds, &peer), true) {
            Next::Ingest { watermark, ask, .. } => (watermark, ask.map(|r| r.since)),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (watermark, ask),
            (200, Some(200)),
            "the waiting page, then the next asked"
        );
        rounds.sent(3, peer, 200);
        assert!(
            matches!(
                rounds.ingested(peer, round_of(&rounds, &peer), true),
                Next::Wait
            ),
            "a page is asked for"
        );
        assert_eq!(
            ingest_step(rounds.arrived(&3, page(300, false, 300))),
            (300, None)
        );
        assert!(
            matches!(
                rounds.ingested(peer, round_of(&rounds, &peer), true),
                Next::Over
            ),
            "the peer has no more"
        );
    }

    /// A page that could not be ingested ends the round, and a page asked
    /// for meanwhile is dropped, not ingested past it.
    #[test]
    fn a_failed_page_ends_the_round_and_the_page_asked_after_it_is_dropped() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let peer = PeerId::random();
        rounds.begin(peer, Start::Watermark);
        rounds.first_page(peer, 0).expect("a page");
        rounds.sent(1, peer, 0);
        assert_eq!(
            ingest_step(rounds.arrived(&1, page(100, true, 300))),
            (100, Some(100))
        );
        rounds.sent(2, peer, 100);
        let old = round_of(&rounds, &peer);
        assert!(matches!(rounds.ingested(peer, old, false), Next::Over));
        assert_eq!(rounds.end(&peer), None);
        assert!(rounds.begin(peer, Start::Watermark), "a new round");
        assert!(
            rounds.arrived(&2, page(200, true, 300)).is_none(),
            "the old round's page is not the new round's"
        );
        assert!(rounds.failed(&2).is_none());
        rounds.first_page(peer, 100).expect("a page");
        rounds.sent(3, peer, 100);
        ingest_step(rounds.arrived(&3, page(200, true, 300)));
        assert!(
            matches!(rounds.ingested(peer, old, true), Next::Wait),
            "a page of the old round ingested late"
        );
        rounds.sent(4, peer, 200);
        assert!(
            matches!(
                rounds.arrived(&4, page(300, true, 300)),
                Some((_, Next::Wait))
            ),
            "the new round's first page is still being ingested"
        );
    }

    #[test]
    fn a_failed_request_ends_the_round_once_the_page_before_it_is_ingested() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let peer = PeerId::random();
        rounds.begin(peer, Start::Watermark);
        rounds.first_page(peer, 0).expect("a page");
        rounds.sent(1, peer, 0);
        ingest_step(rounds.arrived(&1, page(100, true, 300)));
        rounds.sent(2, peer, 100);
        assert!(matches!(rounds.failed(&2), Some((_, Next::Wait))));
        assert!(matches!(
            rounds.ingested(peer, round_of(&rounds, &peer), true),
            Next::Over
        ));
        rounds.end(&peer);
        rounds.begin(peer, Start::Watermark);
        rounds.first_page(peer, 100).expect("a page");
        rounds.sent(3, peer, 100);
        assert!(
            matches!(rounds.failed(&3), Some((_, Next::Over))),
            "nothing being ingested"
        );
    }

    #[test]
    fn a_peer_whose_store_was_reset_is_read_again_from_the_start() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let peer = PeerId::random();
        rounds.begin(peer, Start::Watermark);
        rounds.first_page(peer, 5000).expect("a page");
        rounds.sent(1, peer, 5000);
        assert_eq!(
            ingest_step(rounds.arrived(&1, page(5000, false, 41))),
            (0, Some(0))
        );
    }

    #[test]
    fn a_round_stops_after_its_page_budget() {
        let mut rounds: Rounds<u32> = Rounds::new(1);
        let peer = PeerId::random();
        rounds.begin(peer, Start::Watermark);
        rounds.first_page(peer, 0).expect("a page");
        let mut asked = 1;
        for since in 0..u64::from(MAX_PAGES_PER_ROUND) + 10 {
            rounds.sent(0, peer, since);
            let (_, ask) = ingest_step(rounds.arrived(&0, page(since + 1, true, u64::MAX)));
            match rounds.ingested(peer, round_of(&rounds, &peer), true) {
                Next::Wait if ask.is_some() => asked += 1,
                Next::Over if ask.is_none() => break,
                other => panic!("page {since}: asked {ask:?}, then {other:?}"),
            }
        }
        assert_eq!(asked, MAX_PAGES_PER_ROUND);
        assert_eq!(rounds.end(&peer), None);
        assert!(
            rounds.begin(peer, Start::Watermark),
            "the spent round ended"
        );
    }
}
