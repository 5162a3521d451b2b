//! The peer table and its discipline, without the swarm: which peers the
//! node knows at which addresses, which are connected, each one's rate
//! limits and strikes, and who is banned until when. Each method changes
//! the table and answers what the network actor must then do to the swarm
//! (tell the DHT an address, dial, disconnect and block); nothing here
//! touches libp2p's machinery, so the rules are tested without a swarm.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use super::Config;
use super::handle::PeerInfo;
use super::identity::node_key;
use super::limits::{Offence, PeerLimits};
use super::peer_book::PeerBook;

/// Addresses remembered per peer.
pub const MAX_ADDRS_PER_PEER: usize = 8;
/// Peers remembered (connected or not).
pub const MAX_KNOWN_PEERS: usize = 1024;

/// What the node knows about one peer.
struct Peer {
    addrs: Vec<Multiaddr>,
    connections: u32,
    /// Unix time of the last connection change.
    last_seen: u64,
    limits: PeerLimits,
    rtt: Option<Duration>,
}

/// What an offence did to a peer's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strikes {
    /// Strikes it holds now (gossipsub's application score is their negative).
    pub held: u32,
    /// Whether it has used up `max_strikes` and is to be banned.
    pub exhausted: bool,
}

/// Every peer the node knows, and the bans in force.
pub struct Peers {
    local: PeerId,
    config: Config,
    table: HashMap<PeerId, Peer>,
    banned: HashMap<PeerId, Instant>,
}

impl Peers {
    /// An empty table for the node `local` (which it never holds).
    pub fn new(local: PeerId, config: Config) -> Peers {
        Peers {
            local,
            config,
            table: HashMap::new(),
            banned: HashMap::new(),
        }
    }

    /// Remembers an address of a peer (without its `/p2p/` suffix); the
    /// answer is the address to give the DHT, or `None` when the peer is
    /// this node or the table is full of others.
    pub fn learn(&mut self, peer: PeerId, addr: Multiaddr, now: u64) -> Option<Multiaddr> {
        if peer == self.local
            || (self.table.len() >= MAX_KNOWN_PEERS && !self.table.contains_key(&peer))
        {
            return None;
        }
        let addr = strip_peer(addr);
        let p = self.entry(peer, now);
        if !p.addrs.contains(&addr) {
            if p.addrs.len() >= MAX_ADDRS_PER_PEER {
                p.addrs.remove(0);
            }
            p.addrs.push(addr.clone());
        }
        Some(addr)
    }

    /// A connection to `peer` opened; true when it is the first one (the
    /// moment to start back-filling from it).
    pub fn connected(&mut self, peer: PeerId, now: u64) -> bool {
        let p = self.entry(peer, now);
        p.connections += 1;
        p.last_seen = now;
        p.connections == 1
    }

    /// A connection to `peer` closed; true when it was the last one.
    pub fn disconnected(&mut self, peer: &PeerId, now: u64) -> bool {
        self.table.get_mut(peer).is_some_and(|p| {
            p.connections = p.connections.saturating_sub(1);
            p.last_seen = now;
            p.connections == 0
        })
    }

    /// Takes a token from the peer's gossip bucket; false: it is flooding.
    pub fn allow_message(&mut self, peer: PeerId, now: Instant) -> bool {
        self.entry(peer, crate::clock::unix_now())
            .limits
            .messages
            .take(now)
    }

    /// Takes a token from the peer's back-fill request bucket.
    pub fn allow_request(&mut self, peer: PeerId, now: Instant) -> bool {
        self.entry(peer, crate::clock::unix_now())
            .limits
            .requests
            .take(now)
    }

    /// Counts an offence against `peer`.
    pub fn strike(&mut self, peer: PeerId, offence: Offence) -> Strikes {
        let max = self.config.max_strikes;
        let p = self.entry(peer, crate::clock::unix_now());
        let exhausted = p.limits.strike(offence, max);
        Strikes {
            held: p.limits.strikes,
            exhausted,
        }
    }

    /// Halves every peer's strikes (once a minute).
    pub fn forgive(&mut self) {
        for p in self.table.values_mut() {
            p.limits.forgive();
        }
    }

    /// Bans `peer` for `ban_minutes` from `now`; the answer is until when,
    /// or `None` when it is banned already.
    pub fn ban(&mut self, peer: PeerId, now: Instant) -> Option<Instant> {
        if self.banned.contains_key(&peer) {
            return None;
        }
        let until = now + Duration::from_secs(self.config.ban_minutes.saturating_mul(60));
        self.banned.insert(peer, until);
        Some(until)
    }

    /// Lifts the bans that ran out by `now`; the answer is whose.
    pub fn lift_expired_bans(&mut self, now: Instant) -> Vec<PeerId> {
        let expired: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in &expired {
            self.banned.remove(peer);
        }
        expired
    }

    /// Whether `peer` is banned.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.banned.contains_key(peer)
    }

    /// Whether `peer` has a connection open.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.table.get(peer).is_some_and(|p| p.connections > 0)
    }

    /// The peers with a connection open.
    pub fn connected_peers(&self) -> Vec<PeerId> {
        self.table
            .iter()
            .filter(|(_, p)| p.connections > 0)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Peers connected for at least `grace_secs` (since their last
    /// connection change): the ones a full node may let go. A newcomer
    /// needs a moment to be grafted into gossip meshes; pruned before
    /// that, a node that dials busy peers is dropped again and again.
    pub fn settled_peers(&self, now: u64, grace_secs: u64) -> Vec<PeerId> {
        self.table
            .iter()
            .filter(|(_, p)| p.connections > 0 && p.last_seen.saturating_add(grace_secs) <= now)
            .map(|(id, _)| *id)
            .collect()
    }

    /// How many peers have a connection open.
    pub fn connected_count(&self) -> usize {
        self.table.values().filter(|p| p.connections > 0).count()
    }

    /// The addresses to dial `peer` at, or `None` when it must not be
    /// dialled (this node, or banned).
    pub fn dial(&self, peer: &PeerId) -> Option<Vec<Multiaddr>> {
        if *peer == self.local || self.is_banned(peer) {
            return None;
        }
        Some(
            self.table
                .get(peer)
                .map(|p| p.addrs.clone())
                .unwrap_or_default(),
        )
    }

    /// Known, unconnected, unbanned peers with addresses, as many as the
    /// node lacks to reach `target_peers`.
    pub fn to_dial(&self) -> Vec<PeerId> {
        let missing = self
            .config
            .target_peers
            .saturating_sub(self.connected_count());
        self.table
            .iter()
            .filter(|(id, p)| p.connections == 0 && !p.addrs.is_empty() && !self.is_banned(id))
            .map(|(id, _)| *id)
            .take(missing)
            .collect()
    }

    /// Records a ping round trip.
    pub fn set_rtt(&mut self, peer: &PeerId, rtt: Duration) {
        if let Some(p) = self.table.get_mut(peer) {
            p.rtt = Some(rtt);
        }
    }

    /// Forgets the longest-gone disconnected, unbanned peers beyond
    /// `MAX_KNOWN_PEERS` (peers that connect with ever new ids must not grow
    /// the table).
    pub fn forget_old(&mut self) {
        let excess = self.table.len().saturating_sub(MAX_KNOWN_PEERS);
        if excess == 0 {
            return;
        }
        let mut gone: Vec<(u64, PeerId)> = self
            .table
            .iter()
            .filter(|(id, p)| p.connections == 0 && !self.is_banned(id))
            .map(|(id, p)| (p.last_seen, *id))
            .collect();
        gone.sort();
        for (_, peer) in gone.into_iter().take(excess) {
            self.table.remove(&peer);
        }
    }

    /// The table as the API shows it, connected peers first; `score` gives
    /// each peer's gossipsub score.
    pub fn infos(&self, score: impl Fn(&PeerId) -> f64, now: u64) -> Vec<PeerInfo> {
        let mut infos: Vec<PeerInfo> = self
            .table
            .iter()
            .map(|(id, p)| PeerInfo {
                peer_id: id.to_string(),
                node_id: node_key(id).map(|k| k.to_string()),
                addresses: p.addrs.iter().map(|a| a.to_string()).collect(),
                connected: p.connections > 0,
                score: score(id),
                invalid_statements: p.limits.invalid,
                banned: self.is_banned(id),
                last_seen_secs: if p.connections > 0 {
                    0
                } else {
                    now.saturating_sub(p.last_seen)
                },
                rtt_ms: p.rtt.map(|d| d.as_secs_f64() * 1000.0),
            })
            .collect();
        infos.sort_by(|a, b| {
            b.connected
                .cmp(&a.connected)
                .then(a.last_seen_secs.cmp(&b.last_seen_secs))
                .then(a.peer_id.cmp(&b.peer_id))
        });
        infos
    }

    /// Every peer in the table, as bytes (whose back-fill watermarks are
    /// worth keeping).
    pub fn known_ids(&self) -> std::collections::HashSet<Vec<u8>> {
        self.table.keys().map(|peer| peer.to_bytes()).collect()
    }

    /// The unbanned peers with addresses, to save for the next start.
    pub fn book(&self) -> PeerBook {
        PeerBook {
            peers: self
                .table
                .iter()
                .filter(|(id, p)| !p.addrs.is_empty() && !self.is_banned(id))
                .map(|(id, p)| (*id, p.addrs.clone()))
                .collect(),
        }
    }

    fn entry(&mut self, peer: PeerId, now: u64) -> &mut Peer {
        let config = &self.config;
        self.table.entry(peer).or_insert_with(|| Peer {
            addrs: Vec::new(),
            connections: 0,
            last_seen: now,
            limits: PeerLimits::new(config, Instant::now()),
            rtt: None,
        })
    }
}

/// An address without its trailing `/p2p/<peer id>`.
fn strip_peer(mut addr: Multiaddr) -> Multiaddr {
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("addr")
    }

    fn peers() -> (PeerId, Peers) {
        let local = PeerId::random();
        (local, Peers::new(local, Config::default()))
    }

    #[test]
    fn learning_strips_the_peer_id_keeps_the_newest_addresses_and_never_holds_this_node() {
        let (local, mut peers) = peers();
        assert_eq!(peers.learn(local, addr(1), 0), None);
        let peer = PeerId::random();
        let with_id = addr(1).with(Protocol::P2p(peer));
        assert_eq!(peers.learn(peer, with_id, 0), Some(addr(1)));
        for port in 2..=(MAX_ADDRS_PER_PEER as u16 + 2) {
            peers.learn(peer, addr(port), 0);
        }
        let known = peers.dial(&peer).expect("dialable");
        assert_eq!(known.len(), MAX_ADDRS_PER_PEER);
        assert!(!known.contains(&addr(1)) && !known.contains(&addr(2)));
        assert!(known.contains(&addr(MAX_ADDRS_PER_PEER as u16 + 2)));
    }

    #[test]
    fn a_full_table_takes_no_stranger_and_forgets_the_longest_gone_first() {
        let (_, mut peers) = peers();
        let first = PeerId::random();
        peers.learn(first, addr(1), 1);
        for _ in 1..MAX_KNOWN_PEERS {
            peers.learn(PeerId::random(), addr(1), 100);
        }
        assert_eq!(peers.learn(PeerId::random(), addr(1), 100), None);
        // Connections add peers beyond the cap; the oldest gone one goes.
        let newcomer = PeerId::random();
        peers.connected(newcomer, 200);
        peers.forget_old();
        assert!(peers.dial(&first).is_some_and(|a| a.is_empty()));
        assert!(peers.is_connected(&newcomer));
    }

    #[test]
    fn first_and_last_connections_are_told_apart() {
        let (_, mut peers) = peers();
        let peer = PeerId::random();
        assert!(peers.connected(peer, 0));
        assert!(!peers.connected(peer, 0));
        assert!(!peers.disconnected(&peer, 0));
        assert!(peers.disconnected(&peer, 0));
        assert!(!peers.is_connected(&peer));
        assert!(!peers.disconnected(&PeerId::random(), 0));
    }

    #[test]
    fn only_connections_past_their_grace_may_be_pruned() {
        let (_, mut peers) = peers();
        let (old, new, gone) = (PeerId::random(), PeerId::random(), PeerId::random());
        peers.connected(old, 100);
        peers.connected(gone, 100);
        peers.disconnected(&gone, 120);
        peers.connected(new, 125);
        assert_eq!(peers.settled_peers(129, 30), Vec::<PeerId>::new());
        assert_eq!(peers.settled_peers(140, 30), vec![old]);
        let mut both = peers.settled_peers(155, 30);
        both.sort();
        let mut expected = vec![old, new];
        expected.sort();
        assert_eq!(both, expected, "the disconnected peer is never among them");
    }

    #[test]
    fn strikes_exhaust_a_ban_is_given_once_and_lifted_when_it_runs_out() {
        let (_, mut peers) = peers();
        let peer = PeerId::random();
        let max = Config::default().max_strikes;
        let mut last = peers.strike(peer, Offence::Invalid);
        while !last.exhausted {
            last = peers.strike(peer, Offence::Invalid);
        }
        assert!(last.held >= max);
        let now = Instant::now();
        let until = peers.ban(peer, now).expect("banned");
        assert_eq!(peers.ban(peer, now), None);
        assert!(peers.is_banned(&peer) && peers.dial(&peer).is_none());
        assert!(
            peers
                .lift_expired_bans(until - Duration::from_secs(1))
                .is_empty()
        );
        assert_eq!(peers.lift_expired_bans(until), vec![peer]);
        assert!(!peers.is_banned(&peer));
    }

    #[test]
    fn forgiveness_halves_strikes() {
        let (_, mut peers) = peers();
        let peer = PeerId::random();
        peers.strike(peer, Offence::Invalid);
        peers.forgive();
        assert_eq!(peers.strike(peer, Offence::Flooding).held, 6);
    }

    #[test]
    fn only_unconnected_unbanned_peers_with_addresses_are_dialled_up_to_the_target() {
        let local = PeerId::random();
        let config = Config {
            target_peers: 2,
            ..Config::default()
        };
        let mut peers = Peers::new(local, config);
        let (banned, bare, connected) = (PeerId::random(), PeerId::random(), PeerId::random());
        peers.learn(banned, addr(1), 0);
        peers.ban(banned, Instant::now());
        peers.connected(bare, 0);
        peers.disconnected(&bare, 0);
        peers.learn(connected, addr(2), 0);
        peers.connected(connected, 0);
        let candidates: Vec<PeerId> = (0..3).map(|_| PeerId::random()).collect();
        for (i, peer) in candidates.iter().enumerate() {
            peers.learn(*peer, addr(10 + i as u16), 0);
        }
        let chosen = peers.to_dial();
        assert_eq!(chosen.len(), 1, "one connected, one missing");
        assert!(candidates.contains(&chosen[0]));
        assert!(!peers.book().peers.iter().any(|(id, _)| *id == banned));
    }
}
