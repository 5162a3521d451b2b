//! The node's libp2p identity is its ed25519 statement key, so a peer id
//! names an author: conversions both ways, and parsing what an operator may
//! type to name a peer.

use libp2p::identity::{self, PublicKey, ed25519};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use vouch_protocol::{Keypair, NodeKey};

/// Why a peer could not be named.
#[derive(Debug, thiserror::Error)]
pub enum PeerNameError {
    /// Not a node key, peer id or multiaddr.
    #[error(
        "{0:?} is not a node key (64 hex digits), a peer id (12D3Koo…) or a multiaddr ending in /p2p/<peer id>"
    )]
    Unrecognised(String),
    /// A multiaddr without the peer it leads to.
    #[error("multiaddr {0:?} does not end in /p2p/<peer id>")]
    NoPeerId(String),
    /// A peer id that is not an ed25519 key (not a Vouch node).
    #[error("peer id {0} is not an ed25519 key, so it is not a Vouch node")]
    NotEd25519(PeerId),
}

/// The libp2p keypair of a node: the same ed25519 key that signs its statements.
pub fn libp2p_keypair(keypair: &Keypair) -> Result<identity::Keypair, identity::DecodingError> {
    // `ed25519_from_bytes` zeroes the buffer it is given.
    identity::Keypair::ed25519_from_bytes(keypair.secret_bytes())
}

/// The peer id of a node key; `None` if the bytes are not a curve point.
pub fn peer_id(node: &NodeKey) -> Option<PeerId> {
    let key = ed25519::PublicKey::try_from_bytes(&node.0).ok()?;
    Some(PublicKey::from(key).to_peer_id())
}

/// The node key a peer id names; `None` unless it inlines an ed25519 key.
pub fn node_key(peer: &PeerId) -> Option<NodeKey> {
    let key = PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    let ed = key.try_into_ed25519().ok()?;
    Some(NodeKey(ed.to_bytes()))
}

/// What an operator typed to name a peer: the node, and where to reach it
/// when a multiaddr was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerName {
    /// The node (its statement key).
    pub node: NodeKey,
    /// Its peer id.
    pub peer: PeerId,
    /// The address given, if any (ends in `/p2p/<peer>`).
    pub addr: Option<Multiaddr>,
}

/// Parses a node key (hex), a peer id, or a multiaddr ending in `/p2p/<peer id>`.
pub fn parse_peer(text: &str) -> Result<PeerName, PeerNameError> {
    let text = text.trim();
    if let Ok(node) = text.parse::<NodeKey>() {
        let peer = peer_id(&node).ok_or_else(|| PeerNameError::Unrecognised(text.into()))?;
        return Ok(PeerName {
            node,
            peer,
            addr: None,
        });
    }
    if text.starts_with('/') {
        let addr: Multiaddr = text
            .parse()
            .map_err(|_| PeerNameError::Unrecognised(text.into()))?;
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            return Err(PeerNameError::NoPeerId(text.into()));
        };
        let node = node_key(&peer).ok_or(PeerNameError::NotEd25519(peer))?;
        return Ok(PeerName {
            node,
            peer,
            addr: Some(addr),
        });
    }
    let peer: PeerId = text
        .parse()
        .map_err(|_| PeerNameError::Unrecognised(text.into()))?;
    let node = node_key(&peer).ok_or(PeerNameError::NotEd25519(peer))?;
    Ok(PeerName {
        node,
        peer,
        addr: None,
    })
}

/// The peer id at the end of a multiaddr, if any.
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_key_and_its_peer_id_name_each_other() {
        let keypair = Keypair::from_secret_bytes([9; 32]);
        let node = keypair.public();
        let peer = peer_id(&node).expect("valid key");
        assert_eq!(
            peer,
            libp2p_keypair(&keypair).expect("key").public().to_peer_id()
        );
        assert_eq!(node_key(&peer), Some(node));
    }

    #[test]
    fn an_operator_may_name_a_peer_three_ways() {
        let node = Keypair::from_secret_bytes([3; 32]).public();
        let peer = peer_id(&node).expect("valid key");
        let by_key = parse_peer(&node.to_string()).expect("hex");
        let by_id = parse_peer(&peer.to_string()).expect("peer id");
        let addr = format!("/ip4/127.0.0.1/tcp/7702/p2p/{peer}");
        let by_addr = parse_peer(&addr).expect("multiaddr");
        assert_eq!((by_key.node, by_id.node, by_addr.node), (node, node, node));
        assert_eq!(by_addr.addr, Some(addr.parse().expect("addr")));
        assert!(matches!(
            parse_peer("/ip4/127.0.0.1/tcp/7702"),
            Err(PeerNameError::NoPeerId(_))
        ));
        assert!(matches!(
            parse_peer("mail.example.org"),
            Err(PeerNameError::Unrecognised(_))
        ));
        let rsa_like = PeerId::random();
        assert!(matches!(
            parse_peer(&rsa_like.to_string()),
            Err(PeerNameError::NotEd25519(_))
        ));
    }
}
