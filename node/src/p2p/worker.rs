//! Ingest work the actor hands off, so the swarm is never blocked by
//! RocksDB or signature checks: gossiped statements are ingested in
//! batches (batch verification pays off), back-fill pages are served and
//! ingested on the blocking pool. Results come back to the actor as [`Done`].

use std::sync::Arc;

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use libp2p::request_response::ResponseChannel;
use tokio::sync::mpsc;

use super::sync::{PageOutcome, SyncPage};
use crate::clock::unix_now;
use crate::ingest::{Ingest, Ingested};

/// Most gossiped statements ingested in one batch: what is waiting, up to
/// this, goes in together. A flood of 20,000 statements by 64 authors from
/// one peer was stored at 35k a second in batches of at most 256, 41k at
/// 1,024 (the batch equation sums an author's terms once it holds more than
/// one of theirs) and 38k at 4,096 (the network's work waited longer on
/// each batch).
pub const GOSSIP_BATCH: usize = 1024;

/// A gossiped statement waiting for its verdict.
#[derive(Debug)]
pub struct GossipItem {
    /// The gossip message id (the statement id).
    pub id: MessageId,
    /// The peer that forwarded it.
    pub source: PeerId,
    /// The encoded statement.
    pub data: Vec<u8>,
}

/// What the node tells gossipsub about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Valid and from the web of trust: relay it.
    Accept,
    /// Valid but not to relay (a stranger's, a duplicate, superseded), or
    /// not judged (overload): neither relayed nor penalised.
    Ignore,
    /// Invalid: never relayed, and the peer is penalised.
    Reject(&'static str),
}

impl Acceptance {
    /// Name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Acceptance::Accept => "accept",
            Acceptance::Ignore => "ignore",
            Acceptance::Reject(_) => "reject",
        }
    }
}

/// Results handed back to the actor.
#[derive(Debug)]
pub enum Done {
    /// What gossipsub is told about gossiped statements.
    Gossip(Vec<(MessageId, PeerId, Acceptance)>),
    /// A page to send in answer to a back-fill request.
    Served(ResponseChannel<SyncPage>, SyncPage),
    /// The watermark to start back-fill from with a peer.
    SyncFrom {
        /// The peer.
        peer: PeerId,
        /// The back-fill round it starts.
        round: u64,
        /// The watermark.
        since: u64,
    },
    /// A back-fill page was ingested, or could not be.
    Ingested {
        /// The peer it came from.
        peer: PeerId,
        /// The back-fill round it was asked for in.
        round: u64,
        /// What happened; `None` when it could not be ingested (a store
        /// error, logged): the round stops there.
        outcome: Option<PageOutcome>,
    },
    /// A back-fill round cannot start: its watermark could not be read.
    SyncFailed {
        /// The peer.
        peer: PeerId,
        /// The round.
        round: u64,
    },
}

/// The verdict for one ingest result.
pub fn verdict(result: &Ingested) -> Acceptance {
    match result {
        Ingested::Stored {
            stranger: false, ..
        } => Acceptance::Accept,
        Ingested::Stored { stranger: true, .. }
        | Ingested::Duplicate(_)
        | Ingested::Stale(_)
        | Ingested::OverQuota(_) => Acceptance::Ignore,
        // Stale or clock-skewed: not relayed, not punished.
        Ingested::Rejected(rejection) if !rejection.is_senders_fault() => Acceptance::Ignore,
        Ingested::Rejected(rejection) => Acceptance::Reject(rejection.rule()),
    }
}

/// Ingests gossiped statements in batches until the queue closes.
pub async fn gossip_worker(
    mut queue: mpsc::Receiver<GossipItem>,
    ingest: Arc<Ingest>,
    done: mpsc::Sender<Done>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < GOSSIP_BATCH {
            match queue.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let (keys, data): (Vec<(MessageId, PeerId)>, Vec<Vec<u8>>) = batch
            .into_iter()
            .map(|item| ((item.id, item.source), item.data))
            .unzip();
        let ingest = ingest.clone();
        let results = tokio::task::spawn_blocking(move || {
            let results = ingest.submit_encoded(data, unix_now());
            // Trust statements in the batch may admit the next batch's authors.
            ingest.trust().recompute_if_dirty();
            results
        })
        .await;
        let verdicts = match results {
            Ok(Ok(results)) => keys
                .into_iter()
                .zip(results.iter().map(verdict))
                .map(|((id, peer), v)| (id, peer, v))
                .collect(),
            Ok(Err(error)) => {
                tracing::error!(%error, "store failed while ingesting gossip");
                ignore_all(keys)
            }
            Err(error) => {
                tracing::error!(%error, "gossip ingest task failed");
                ignore_all(keys)
            }
        };
        if done.send(Done::Gossip(verdicts)).await.is_err() {
            return;
        }
    }
}

fn ignore_all(keys: Vec<(MessageId, PeerId)>) -> Vec<(MessageId, PeerId, Acceptance)> {
    keys.into_iter()
        .map(|(id, peer)| (id, peer, Acceptance::Ignore))
        .collect()
}

#[cfg(test)]
mod tests {
    use vouch_protocol::{SignatureError, ValidationError};

    use super::*;
    use crate::ingest::Rejection;

    #[test]
    fn only_the_senders_faults_are_rejected_stale_and_skewed_statements_are_ignored() {
        let expired = Ingested::Rejected(Rejection::Invalid(ValidationError::Expired(60)));
        let ahead = Ingested::Rejected(Rejection::Invalid(ValidationError::FromTheFuture {
            ahead_secs: 900,
            limit_secs: 300,
        }));
        assert_eq!(verdict(&expired), Acceptance::Ignore);
        assert_eq!(verdict(&ahead), Acceptance::Ignore);
        let forged = Ingested::Rejected(Rejection::Signature(SignatureError::BadSignature));
        assert_eq!(verdict(&forged), Acceptance::Reject("bad_signature"));
    }
}
