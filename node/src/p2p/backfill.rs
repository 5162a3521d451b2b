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

impl Round {
    fn new(id: u64) -> Round {
        Round {
            id,
            pages_left: MAX_PAGES_PER_ROUND,
            queued: None,
            ingesting: false,
            asking: false,
            waiting: None,
        }
    }
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
    /// The page a round that ended was ingesting is in at last: begin the
    /// round asked for meanwhile.
    Begin(Start),
}

/// A round that ended (its peer went away) while a page was being
/// ingested: a new round with the peer waits for that page, so two pages
/// from one peer are never ingested at once, nor a watermark saved out of
/// order.
struct Draining {
    /// The ended round's id.
    round: u64,
    /// A round asked for meanwhile.
    queued: Option<Start>,
}

/// The rounds running, and the requests in flight (`R` names a request:
/// libp2p's request id in the node).
pub struct Rounds<R> {
    page_statements: u32,
    running: HashMap<PeerId, Round>,
    draining: HashMap<PeerId, Draining>,
    /// The id of the last round begun.
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
            draining: HashMap::new(),
            next_round: 0,
            requests: HashMap::new(),
        }
    }

    /// Starts a round with `peer` from `start`: its id, to go now. When
    /// one is running already (or one that ended is still ingesting a
    /// page), the new one is queued to follow it (a round from the
    /// beginning outranks one from the watermark), so a round asked for
    /// meanwhile is never lost.
    pub fn begin(&mut self, peer: PeerId, start: Start) -> Option<u64> {
        let queued = match (self.running.get_mut(&peer), self.draining.get_mut(&peer)) {
            (Some(round), _) => &mut round.queued,
            (None, Some(draining)) => &mut draining.queued,
            (None, None) => {
                self.next_round += 1;
                self.running.insert(peer, Round::new(self.next_round));
                return Some(self.next_round);
            }
        };
        *queued = Some(match (*queued, start) {
            (Some(Start::Beginning), _) | (_, Start::Beginning) => Start::Beginning,
            _ => Start::Watermark,
        });
        None
    }

    /// Whether `round` is the round running with `peer`.
    pub fn is_current(&self, peer: &PeerId, round: u64) -> bool {
        self.running.get(peer).is_some_and(|r| r.id == round)
    }

    /// The request for the first page of round `round` with `peer`, from
    /// watermark `since`; `None` when that round is not running, or has
    /// asked already.
    pub fn first_page(&mut self, peer: PeerId, round: u64, since: u64) -> Option<SyncRequest> {
        let round = self
            .running
            .get_mut(&peer)
            .filter(|r| r.id == round && r.pages_left == MAX_PAGES_PER_ROUND)?;
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
        if self.draining.get(&peer).is_some_and(|d| d.round == round) {
            let queued = self.draining.remove(&peer).and_then(|d| d.queued);
            return queued.map_or(Next::Wait, Next::Begin);
        }
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
        let round = self.running.remove(peer)?;
        if round.ingesting {
            self.draining.insert(
                *peer,
                Draining {
                    round: round.id,
                    queued: None,
                },
            );
        }
        round.queued
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
    (peer, round): (PeerId, u64),
    done: mpsc::Sender<Done>,
) {
    tasks.spawn(async move {
        let since =
            tokio::task::spawn_blocking(move || store.sync_watermark(&peer.to_bytes())).await;
        let message = match since {
            Ok(Ok(since)) => Done::SyncFrom { peer, round, since },
            _ => Done::SyncFailed { peer, round },
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

    /// A round with a new peer, its first page (from 0) asked as request 1.
    fn started(rounds: &mut Rounds<u32>) -> (PeerId, u64) {
        let peer = PeerId::random();
        let round = rounds.begin(peer, Start::Watermark).expect("a round");
        rounds.first_page(peer, round, 0).expect("a page");
        rounds.sent(1, peer, 0);
        (peer, round)
    }

    /// A round with a new peer ingesting its first page (to watermark 100)
    /// while the next, from 100, is asked as request 2.
    fn one_page_ahead(rounds: &mut Rounds<u32>) -> (PeerId, u64) {
        let (peer, round) = started(rounds);
        assert_eq!(
            ingest_step(rounds.arrived(&1, page(100, true, 300))),
            (100, Some(100))
        );
        rounds.sent(2, peer, 100);
        (peer, round)
    }

    #[test]
    fn one_round_per_peer_asks_pages_from_the_watermark_it_is_given() {
        let mut rounds: Rounds<u32> = Rounds::new(500);
        let peer = PeerId::random();
        assert!(rounds.first_page(peer, 1, 0).is_none(), "no round running");
        let round = rounds.begin(peer, Start::Watermark).expect("a round");
        assert!(rounds.is_current(&peer, round));
        let request = rounds.first_page(peer, round, 42).expect("a page");
        assert_eq!((request.since, request.limit), (42, 500));
        assert!(rounds.first_page(peer, round, 42).is_none(), "asked once");
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
        assert!(matches!(rounds.ingested(peer, round, true), Next::Wait));
        assert_eq!(rounds.end(&peer), None, "nothing queued");
        assert!(!rounds.is_current(&peer, round));
        let next = rounds.begin(peer, Start::Watermark).expect("a new round");
        assert_ne!(next, round);
        assert!(
            rounds.first_page(peer, round, 0).is_none(),
            "the old round's watermark, read late, starts nothing"
        );
    }

    #[test]
    fn a_round_asked_for_while_one_runs_follows_it_the_widest_first() {
        let mut rounds: Rounds<u32> = Rounds::new(500);
        let peer = PeerId::random();
        assert!(rounds.begin(peer, Start::Watermark).is_some());
        assert!(
            rounds.begin(peer, Start::Watermark).is_none(),
            "one round at a time"
        );
        assert!(rounds.begin(peer, Start::Beginning).is_none());
        assert!(rounds.begin(peer, Start::Watermark).is_none());
        assert_eq!(
            rounds.end(&peer),
            Some(Start::Beginning),
            "the web grew meanwhile: the next round reads from the beginning"
        );
        assert!(rounds.begin(peer, Start::Beginning).is_some());
        assert_eq!(rounds.end(&peer), None, "queued once");
    }

    /// The next page is asked for while one is ingested; one that arrives
    /// meanwhile waits its turn, and nothing more is asked until it has it.
    #[test]
    fn pages_are_asked_one_ahead_and_ingested_one_at_a_time_in_order() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let (peer, round) = started(&mut rounds);
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
        let (watermark, ask) = match rounds.ingested(peer, round, true) {
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
            matches!(rounds.ingested(peer, round, true), Next::Wait),
            "a page is asked for"
        );
        assert_eq!(
            ingest_step(rounds.arrived(&3, page(300, false, 300))),
            (300, None)
        );
        assert!(
            matches!(rounds.ingested(peer, round, true), Next::Over),
            "the peer has no more"
        );
    }

    /// A page that could not be ingested ends the round: the page asked
    /// for meanwhile, or one already waiting, is dropped, not ingested
    /// past it.
    #[test]
    fn a_failed_page_ends_the_round_and_the_pages_after_it_are_dropped() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let (peer, round) = one_page_ahead(&mut rounds);
        assert!(matches!(rounds.ingested(peer, round, false), Next::Over));
        assert_eq!(rounds.end(&peer), None);
        let new = rounds.begin(peer, Start::Watermark).expect("a new round");
        assert!(
            rounds.arrived(&2, page(200, true, 300)).is_none(),
            "the old round's page is not the new round's"
        );
        assert!(rounds.failed(&2).is_none());

        rounds.first_page(peer, new, 100).expect("a page");
        rounds.sent(3, peer, 100);
        ingest_step(rounds.arrived(&3, page(200, true, 300)));
        rounds.sent(4, peer, 200);
        assert!(matches!(
            rounds.arrived(&4, page(300, true, 300)),
            Some((_, Next::Wait))
        ));
        assert!(
            matches!(rounds.ingested(peer, round, true), Next::Wait),
            "a page of the old round, reported late, moves nothing"
        );
        assert!(
            matches!(rounds.ingested(peer, new, false), Next::Over),
            "not the waiting page"
        );
        assert_eq!(rounds.end(&peer), None);
        assert!(
            rounds.begin(peer, Start::Watermark).is_some(),
            "nothing left ingesting"
        );
    }

    /// A round that ends (its peer gone) while a page is being ingested
    /// holds back the next round with that peer until the page is in.
    #[test]
    fn a_round_ended_while_ingesting_holds_the_next_one_back_until_its_page_is_in() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let (peer, round) = one_page_ahead(&mut rounds);
        assert_eq!(rounds.end(&peer), None, "the peer went away");
        assert!(
            rounds.begin(peer, Start::Watermark).is_none(),
            "it is back: held"
        );
        assert!(rounds.begin(peer, Start::Beginning).is_none());
        assert!(rounds.arrived(&2, page(200, true, 300)).is_none());
        assert!(matches!(
            rounds.ingested(peer, round, true),
            Next::Begin(Start::Beginning)
        ));
        assert!(rounds.begin(peer, Start::Beginning).is_some());

        let (other, round) = started(&mut rounds);
        ingest_step(rounds.arrived(&1, page(100, false, 100)));
        rounds.end(&other);
        assert!(
            matches!(rounds.ingested(other, round, true), Next::Wait),
            "nothing asked for meanwhile"
        );
        assert!(rounds.begin(other, Start::Watermark).is_some());
    }

    #[test]
    fn a_failed_request_ends_the_round_once_the_page_before_it_is_ingested() {
        let mut rounds: Rounds<u32> = Rounds::new(100);
        let (peer, round) = one_page_ahead(&mut rounds);
        assert!(matches!(rounds.failed(&2), Some((_, Next::Wait))));
        assert!(matches!(rounds.ingested(peer, round, true), Next::Over));
        rounds.end(&peer);
        let round = rounds.begin(peer, Start::Watermark).expect("a round");
        rounds.first_page(peer, round, 100).expect("a page");
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
        let round = rounds.begin(peer, Start::Watermark).expect("a round");
        rounds.first_page(peer, round, 5000).expect("a page");
        rounds.sent(1, peer, 5000);
        assert_eq!(
            ingest_step(rounds.arrived(&1, page(5000, false, 41))),
            (0, Some(0))
        );
    }

    #[test]
    fn a_round_stops_after_its_page_budget() {
        let mut rounds: Rounds<u32> = Rounds::new(1);
        let (peer, round) = started(&mut rounds);
        let mut asked = 1;
        for since in 0..u64::from(MAX_PAGES_PER_ROUND) + 10 {
            rounds.sent(1, peer, since);
            let (_, ask) = ingest_step(rounds.arrived(&1, page(since + 1, true, u64::MAX)));
            match rounds.ingested(peer, round, true) {
                Next::Wait if ask.is_some() => asked += 1,
                Next::Over if ask.is_none() => break,
                other => panic!("page {since}: asked {ask:?}, then {other:?}"),
            }
        }
        assert_eq!(asked, MAX_PAGES_PER_ROUND);
        assert_eq!(rounds.end(&peer), None);
        assert!(
            rounds.begin(peer, Start::Watermark).is_some(),
            "the spent round ended"
        );
    }
}
