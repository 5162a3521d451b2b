//! Refuses banned and abusive sources before the handshake. A peer is
//! only known by its id after the TCP, noise and yamux handshakes, so a
//! ban by peer id lets a banned client redial and handshake again and
//! again (each attempt looks like a success to it, and its backoff never
//! starts). This gate bans the addresses a banned peer connected from, and
//! caps how many inbound connections one address may open a minute, both
//! before any handshake. Loopback is exempt unless configured otherwise,
//! so a testnet on one host keeps working.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};

use crate::metrics::Metrics;

/// Most peers whose inbound addresses are remembered (for banning them).
const MAX_REMEMBERED: usize = 4096;

/// The refused source, for errors and logs.
#[derive(Debug, thiserror::Error)]
#[error("{ip} refused before the handshake: {reason}")]
pub struct Refused {
    ip: IpAddr,
    reason: &'static str,
}

/// The gate (a swarm behaviour with no protocol of its own).
pub struct IpGate {
    banned: HashMap<IpAddr, Instant>,
    attempts: HashMap<IpAddr, (Instant, u32)>,
    per_minute: u32,
    exempt_loopback: bool,
    peer_ips: HashMap<PeerId, HashSet<IpAddr>>,
    logged: HashSet<IpAddr>,
    metrics: Metrics,
}

impl IpGate {
    /// At most `per_minute` inbound connections from one address a minute.
    pub fn new(per_minute: u32, exempt_loopback: bool, metrics: Metrics) -> IpGate {
        IpGate {
            banned: HashMap::new(),
            attempts: HashMap::new(),
            per_minute,
            exempt_loopback,
            peer_ips: HashMap::new(),
            logged: HashSet::new(),
            metrics,
        }
    }

    /// Bans the addresses `peer` connected from, until `until`.
    pub fn ban_peer(&mut self, peer: &PeerId, until: Instant) {
        for ip in self.peer_ips.remove(peer).into_iter().flatten() {
            if !self.is_exempt(ip) {
                tracing::warn!(%peer, %ip, "address banned with its peer");
                self.banned.insert(ip, until);
            }
        }
    }

    /// Lifts expired bans and forgets old counts (called every few seconds).
    pub fn maintain(&mut self, now: Instant) {
        self.banned.retain(|_, until| *until > now);
        self.attempts
            .retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        self.logged.retain(|ip| self.banned.contains_key(ip));
    }

    fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt_loopback && ip.is_loopback()
    }

    fn admit(&mut self, remote: &Multiaddr, now: Instant) -> Result<(), Refused> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        if self.is_exempt(ip) {
            return Ok(());
        }
        let reason = if self.banned.get(&ip).is_some_and(|until| *until > now) {
            Some("banned")
        } else {
            let (start, count) = self.attempts.entry(ip).or_insert((now, 0));
            if now.duration_since(*start) >= Duration::from_secs(60) {
                *start = now;
                *count = 0;
            }
            *count += 1;
            (*count > self.per_minute).then_some("too many connections a minute")
        };
        let Some(reason) = reason else {
            return Ok(());
        };
        self.metrics
            .peer_refused(if reason == "banned" { "banned" } else { "rate" });
        // One line per address and ban, not one per attempt.
        if self.logged.insert(ip) {
            tracing::info!(%ip, reason, "refusing connections before the handshake");
        }
        Err(Refused { ip, reason })
    }
}

/// The IP address in a multiaddr, if any.
fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|part| match part {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl NetworkBehaviour for IpGate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.admit(remote, Instant::now())
            .map_err(ConnectionDenied::new)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if let Some(ip) = ip_of(remote)
            && (self.peer_ips.len() < MAX_REMEMBERED || self.peer_ips.contains_key(&peer))
        {
            self.peer_ips.entry(peer).or_default().insert(ip);
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_banned_peers_address_and_a_redial_storm_are_refused_loopback_exempt() {
        let metrics = Metrics::default();
        let mut gate = IpGate::new(3, true, metrics.clone());
        let now = Instant::now();
        let peer = PeerId::random();
        let remote = addr("/ip4/203.0.113.7/tcp/4001");
        assert!(gate.admit(&remote, now).is_ok());
        let _ = gate.handle_established_inbound_connection(
            ConnectionId::new_unchecked(1),
            peer,
            &addr("/ip4/192.0.2.1/tcp/7702"),
            &remote,
        );
        gate.ban_peer(&peer, now + Duration::from_secs(600));
        assert!(gate.admit(&remote, now).is_err(), "banned address");
        // Another address: at most three a minute, then refused.
        let other = addr("/ip4/203.0.113.8/tcp/4001");
        assert!((0..3).all(|_| gate.admit(&other, now).is_ok()));
        assert!(gate.admit(&other, now).is_err());
        assert!(gate.admit(&other, now + Duration::from_secs(61)).is_ok());
        // Loopback is exempt from both.
        let local = addr("/ip4/127.0.0.1/tcp/4001");
        assert!((0..10).all(|_| gate.admit(&local, now).is_ok()));
        // Bans end.
        gate.maintain(now + Duration::from_secs(601));
        assert!(gate.admit(&remote, now + Duration::from_secs(601)).is_ok());
        let text = metrics.render();
        assert!(
            text.contains(r#"vouch_peer_refusals_total{reason="banned"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"vouch_peer_refusals_total{reason="rate"} 1"#),
            "{text}"
        );
    }
}
