//! The peers and addresses a node knows, saved in the store so that a
//! restarted node reconnects without its bootstrap peers.

use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

use crate::store::{self, Store};

/// Most peers saved.
const MAX_SAVED: usize = 256;

/// Known peers and their addresses.
#[derive(Debug, Default)]
pub struct PeerBook {
    /// Each peer with its addresses.
    pub peers: Vec<(PeerId, Vec<Multiaddr>)>,
}

/// The saved form: plain strings, so a format change in libp2p cannot make
/// the file unreadable (entries that no longer parse are skipped).
#[derive(Serialize, Deserialize)]
struct Saved {
    peers: Vec<(String, Vec<String>)>,
}

impl PeerBook {
    /// Loads the saved book; a missing or unreadable one is empty (and logged).
    pub fn load(store: &Store) -> PeerBook {
        let bytes = match store.peer_book() {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return PeerBook::default(),
            Err(error) => {
                tracing::warn!(%error, "cannot read the peer book");
                return PeerBook::default();
            }
        };
        let saved: Saved = match serde_json::from_slice(&bytes) {
            Ok(saved) => saved,
            Err(error) => {
                tracing::warn!(%error, "peer book unreadable; starting without it");
                return PeerBook::default();
            }
        };
        let peers = saved
            .peers
            .into_iter()
            .take(MAX_SAVED)
            .filter_map(|(peer, addrs)| {
                let peer: PeerId = peer.parse().ok()?;
                let addrs = addrs.iter().filter_map(|a| a.parse().ok()).collect();
                Some((peer, addrs))
            })
            .collect();
        PeerBook { peers }
    }

    /// Saves the book (at most 256 peers).
    pub fn save(&self, store: &Store) -> Result<(), store::Error> {
        let saved = Saved {
            peers: self
                .peers
                .iter()
                .take(MAX_SAVED)
                .map(|(peer, addrs)| {
                    (
                        peer.to_string(),
                        addrs.iter().map(|a| a.to_string()).collect(),
                    )
                })
                .collect(),
        };
        // Serialising strings cannot fail.
        let bytes = serde_json::to_vec(&saved).unwrap_or_default();
        store.set_peer_book(&bytes)
    }
}
