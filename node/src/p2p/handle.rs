//! The cloneable handle to the network actor: each call is a command with a
//! oneshot reply over a bounded channel. The actor ends when every handle
//! is dropped.

use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::backfill::Start;

/// Commands the actor serves.
#[derive(Debug)]
pub(super) enum Command {
    /// Gossip an encoded statement the operator made.
    Publish(Vec<u8>),
    /// The peers known, for the API.
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    /// The addresses the node listens on.
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    /// Remember (and dial) a peer's address.
    AddPeer(PeerId, Multiaddr),
    /// Back-fill again from every connected peer, from where the round
    /// says: the web of trust grew.
    SyncAgain(Start),
}

/// What the API shows about a peer.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its node key (hex), the author name its statements carry.
    pub node_id: Option<String>,
    /// Addresses it listens on, as it told us.
    pub addresses: Vec<String>,
    /// Whether a connection is open now.
    pub connected: bool,
    /// Its gossipsub score from this node's view.
    pub score: f64,
    /// Invalid statements it sent us.
    pub invalid_statements: u64,
    /// Whether it is banned for now.
    pub banned: bool,
    /// Seconds since it was last connected (0 while connected).
    pub last_seen_secs: u64,
    /// Round-trip time of the last ping, in milliseconds.
    pub rtt_ms: Option<f64>,
}

/// Why a network call failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The network is disabled or has stopped.
    #[error("the network is not running")]
    Stopped,
    /// The network actor did not answer in time (it is stuck or overloaded).
    #[error("the network did not answer within {0:?}")]
    Timeout(Duration),
}

/// How long a call waits for the network actor, queueing included.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// A cheap handle to the network actor.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
}

/// Commands queued before the actor falls behind and callers wait.
const QUEUE: usize = 1024;

impl Handle {
    /// A handle and the command queue the actor will serve.
    pub(super) fn channel() -> (Handle, mpsc::Receiver<Command>) {
        let (commands, queue) = mpsc::channel(QUEUE);
        (Handle { commands }, queue)
    }

    /// A handle to no network (p2p disabled): every call answers `Stopped`.
    pub fn disabled() -> Handle {
        Handle::channel().0
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, HandleError> {
        self.ask_within(ANSWER_WITHIN, make).await
    }

    async fn ask_within<T>(
        &self,
        limit: Duration,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, HandleError> {
        let call = async {
            let (reply, answer) = oneshot::channel();
            self.commands
                .send(make(reply))
                .await
                .map_err(|_| HandleError::Stopped)?;
            answer.await.map_err(|_| HandleError::Stopped)
        };
        tokio::time::timeout(limit, call)
            .await
            .map_err(|_| HandleError::Timeout(limit))?
    }

    /// Gossips an encoded statement (the operator's own). A full queue or a
    /// stopped network drops it; peers back-fill it later.
    pub fn publish(&self, statement: Vec<u8>) -> Result<(), HandleError> {
        self.commands
            .try_send(Command::Publish(statement))
            .map_err(|_| HandleError::Stopped)
    }

    /// Every peer known.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, HandleError> {
        self.ask(Command::Peers).await
    }

    /// The addresses the node listens on, each ending in `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, HandleError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Remembers and dials a peer's address.
    pub async fn add_peer(&self, peer: PeerId, addr: Multiaddr) -> Result<(), HandleError> {
        self.send(Command::AddPeer(peer, addr)).await
    }

    /// Back-fills again from every connected peer, from `start` (after
    /// the web of trust grew).
    pub async fn sync_again(&self, start: Start) -> Result<(), HandleError> {
        self.send(Command::SyncAgain(start)).await
    }

    /// Queues a command, waiting at most [`ANSWER_WITHIN`] for room.
    async fn send(&self, command: Command) -> Result<(), HandleError> {
        tokio::time::timeout(ANSWER_WITHIN, self.commands.send(command))
            .await
            .map_err(|_| HandleError::Timeout(ANSWER_WITHIN))?
            .map_err(|_| HandleError::Stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stuck_actor_is_answered_by_a_timeout_not_a_hang() {
        // The actor's queue exists but nobody serves it.
        let (handle, _queue) = Handle::channel();
        let started = std::time::Instant::now();
        let answer = handle
            .ask_within(Duration::from_millis(100), Command::Peers)
            .await;
        assert!(matches!(answer, Err(HandleError::Timeout(_))), "{answer:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        // A stopped network still answers at once.
        assert!(matches!(
            Handle::disabled().peers().await,
            Err(HandleError::Stopped)
        ));
    }
}
