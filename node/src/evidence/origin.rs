//! Finding the host to report: walk the Received hops from the top, skip
//! those the operator's own hosts and networks added, and take the first
//! outside hop. Only the hops our own hosts wrote can be believed; the ones
//! below the first outside hop were written by strangers, so they only make
//! the relay chain, which the engine uses when (and only when) that host is
//! an endorsed forwarder.

use std::net::IpAddr;

use ipnet::IpNet;

use super::address::special_purpose;
use super::message::{Hop, MessageFacts};

/// The operator's own mail hosts and networks: hops from them are internal.
/// Loopback, private and other special-purpose addresses are always
/// internal (no outside host connects from them).
#[derive(Debug, Clone, Default)]
pub struct OwnHosts {
    networks: Vec<IpNet>,
    names: Vec<String>,
}

impl OwnHosts {
    /// Our networks, and our hosts' names (lower case, as reverse DNS gives them).
    pub fn new(networks: Vec<IpNet>, names: Vec<String>) -> OwnHosts {
        let names = names
            .into_iter()
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        OwnHosts { networks, names }
    }

    /// Whether `ip` is one of ours (or not on the internet at all).
    pub fn has_ip(&self, ip: IpAddr) -> bool {
        special_purpose(ip).is_some() || self.networks.iter().any(|net| net.contains(&ip))
    }

    /// Whether `domain` names one of our hosts, or a domain one of them is in
    /// (`example.org` for `mx.example.org`): our own names are never reported.
    pub fn has_domain(&self, domain: &str) -> bool {
        self.names
            .iter()
            .any(|name| name == domain || name.ends_with(&format!(".{domain}")))
    }

    fn is_internal(&self, hop: &Hop) -> bool {
        hop.ip.is_some_and(|ip| self.has_ip(ip))
            || hop
                .rdns
                .as_deref()
                .is_some_and(|rdns| self.names.iter().any(|n| n == rdns))
    }
}

/// The host that handed the message to the operator's hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The first outside hop's address: the subject of the report.
    pub ip: IpAddr,
    /// The name it greeted with, when it gave one.
    pub helo: Option<String>,
    /// Public addresses of the hops behind it, nearest first, then those
    /// ARC sets recorded and the Received hops did not; at most `max_hops`.
    pub relay_chain: Vec<IpAddr>,
}

/// Why no origin was found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OriginError {
    /// Every hop is internal.
    #[error(
        "every Received hop is from this operator's own hosts or networks (or a private range): nothing outside to report"
    )]
    AllInternal,
}

/// Walks `facts`' hops from the top to the first outside one.
pub fn find(facts: &MessageFacts, own: &OwnHosts, max_hops: usize) -> Result<Origin, OriginError> {
    let (index, hop, ip) = facts
        .hops
        .iter()
        .enumerate()
        .filter_map(|(i, hop)| Some((i, hop, hop.ip?)))
        .find(|(_, hop, _)| !own.is_internal(hop))
        .ok_or(OriginError::AllInternal)?;
    let behind = facts.hops.iter().skip(index + 1).filter_map(|h| h.ip);
    let mut relay_chain: Vec<IpAddr> = Vec::new();
    for hop_ip in behind.chain(facts.arc_ips.iter().copied()) {
        if relay_chain.len() >= max_hops {
            break;
        }
        if hop_ip != ip && special_purpose(hop_ip).is_none() && !relay_chain.contains(&hop_ip) {
            relay_chain.push(hop_ip);
        }
    }
    Ok(Origin {
        ip,
        helo: hop.helo.clone(),
        relay_chain,
    })
}
