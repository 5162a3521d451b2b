//! The cloneable handle to the network actor: each call is a command with a
//! oneshot reply over a bounded channel. The actor ends when every handle
//! is dropped.

use libp2p::{Multiaddr, PeerId};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

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
    /// Start a back-fill round with every connected peer now.
    SyncNow,
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
}

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
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| HandleError::Stopped)?;
        answer.await.map_err(|_| HandleError::Stopped)
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
        self.commands
            .send(Command::AddPeer(peer, addr))
            .await
            .map_err(|_| HandleError::Stopped)
    }

    /// Starts a back-fill round now.
    pub async fn sync_now(&self) -> Result<(), HandleError> {
        self.commands
            .send(Command::SyncNow)
            .await
            .map_err(|_| HandleError::Stopped)
    }
}
