//! The `[p2p]` section: where the node listens, whom it dials first, and the
//! limits it holds every peer to.

use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

use crate::config::SettingError;
use crate::store::StrangerQuota;

/// Network settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Take part in the network at all.
    pub enabled: bool,
    /// Multiaddrs to listen on. Loopback by default: a node joins a real
    /// network only when its operator says on which address.
    pub listen: Vec<String>,
    /// Addresses to announce to peers besides the listen addresses (a
    /// public address behind NAT or a container's service name).
    pub external: Vec<String>,
    /// Peers to dial at start (`/ip4/…/tcp/…`, optionally ending in
    /// `/p2p/<peer id>`); after the first run the saved peer book suffices.
    pub bootstrap: Vec<String>,
    /// Find peers on the local network by mDNS (for LAN and compose testnets).
    pub mdns: bool,
    /// Connected peers the node tries to keep; it dials peers it learns of
    /// until it has this many.
    pub target_peers: usize,
    /// Most established connections in all.
    pub max_connections: u32,
    /// Most established connections to one peer.
    pub max_connections_per_peer: u32,
    /// Most incoming connections still handshaking.
    pub max_pending_incoming: u32,
    /// Gossiped statements accepted from one peer per second, sustained.
    pub messages_per_sec: f64,
    /// Gossiped statements one peer may send in a burst.
    pub message_burst: f64,
    /// Back-fill requests served to one peer per minute, sustained.
    pub sync_requests_per_min: f64,
    /// Seconds between back-fill rounds with every connected peer.
    pub sync_interval_secs: u64,
    /// Most statements in one back-fill page (and the page's bytes are
    /// capped too). Large pages, since peers serve only so many requests
    /// a minute (`sync_requests_per_min`): 4,096 reports are about 480 KB,
    /// and a new node back-fills 40k statements a second from one peer.
    pub sync_page_statements: u32,
    /// Most statements kept for one stranger (an author outside the web of trust).
    pub stranger_quota_per_author: usize,
    /// Most statements kept for all strangers together.
    pub stranger_quota_total: u64,
    /// Hours a stranger's statement is kept unless its author enters the web of trust.
    pub stranger_retention_hours: u64,
    /// Strikes (invalid statements count 10, rate-limit breaches 1) before a
    /// peer is disconnected and banned.
    pub max_strikes: u32,
    /// Minutes a banned peer stays banned.
    pub ban_minutes: u64,
    /// Inbound connections one address may open a minute; beyond, they are
    /// refused before the handshake (as are a banned peer's addresses).
    pub inbound_per_ip_per_min: u32,
    /// Exempt loopback from address bans and the per-address cap (a
    /// testnet on one host).
    pub exempt_loopback: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            listen: vec!["/ip4/127.0.0.1/tcp/7702".into()],
            external: Vec::new(),
            bootstrap: Vec::new(),
            mdns: false,
            target_peers: 8,
            max_connections: 64,
            max_connections_per_peer: 1,
            max_pending_incoming: 16,
            messages_per_sec: 500.0,
            message_burst: 5000.0,
            sync_requests_per_min: 600.0,
            sync_interval_secs: 30,
            sync_page_statements: 4096,
            stranger_quota_per_author: 8,
            stranger_quota_total: 10_000,
            stranger_retention_hours: 24,
            max_strikes: 100,
            ban_minutes: 10,
            inbound_per_ip_per_min: 60,
            exempt_loopback: true,
        }
    }
}

impl Config {
    /// The stranger quota the store enforces.
    pub fn stranger_quota(&self) -> StrangerQuota {
        StrangerQuota {
            per_author: self.stranger_quota_per_author,
            total: self.stranger_quota_total,
        }
    }

    /// The listen addresses, parsed.
    pub fn listen_addrs(&self) -> Result<Vec<Multiaddr>, SettingError> {
        parse_all("p2p.listen", &self.listen)
    }

    /// The external addresses, parsed.
    pub fn external_addrs(&self) -> Result<Vec<Multiaddr>, SettingError> {
        parse_all("p2p.external", &self.external)
    }

    /// The bootstrap addresses, parsed.
    pub fn bootstrap_addrs(&self) -> Result<Vec<Multiaddr>, SettingError> {
        parse_all("p2p.bootstrap", &self.bootstrap)
    }

    /// Checks the settings make sense; the error names the setting.
    pub fn check(&self) -> Result<(), SettingError> {
        if self.inbound_per_ip_per_min == 0 {
            return Err(SettingError::range(
                "p2p.inbound_per_ip_per_min",
                "be at least 1",
            ));
        }
        self.listen_addrs()?;
        self.external_addrs()?;
        self.bootstrap_addrs()?;
        if self.enabled && self.listen.is_empty() {
            return Err(SettingError::range(
                "p2p.listen",
                "name at least one address (or set p2p.enabled = false)",
            ));
        }
        if self.max_connections == 0 || self.max_connections_per_peer == 0 {
            return Err(SettingError::range(
                "p2p.max_connections and p2p.max_connections_per_peer",
                "be at least 1",
            ));
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.messages_per_sec)
            || !positive(self.message_burst)
            || !positive(self.sync_requests_per_min)
        {
            return Err(SettingError::range(
                "p2p.messages_per_sec, p2p.message_burst and p2p.sync_requests_per_min",
                "be positive",
            ));
        }
        if self.sync_interval_secs == 0 || !(1..=4096).contains(&self.sync_page_statements) {
            return Err(SettingError::range(
                "p2p.sync_interval_secs",
                "be at least 1 and p2p.sync_page_statements within 1..=4096",
            ));
        }
        if self.max_strikes == 0 {
            return Err(SettingError::range("p2p.max_strikes", "be at least 1"));
        }
        Ok(())
    }
}

fn parse_all(key: &'static str, addrs: &[String]) -> Result<Vec<Multiaddr>, SettingError> {
    addrs
        .iter()
        .map(|a| {
            a.parse::<Multiaddr>()
                .map_err(|e| SettingError::unparsable(key, a, "a multiaddr", e))
        })
        .collect()
}
