//! Settings of the DNSBL / DNSWL zones (the `[dnsbl]` table).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::config::{SettingError, is_domain_name};

/// The DNS block list and allow list zones (DNSBL / DNSWL, RFC 5782).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsblConfig {
    /// Serve the zones at all.
    pub enabled: bool,
    /// Address to listen on, UDP and TCP; loopback, reached through a local
    /// resolver's stub zone.
    pub listen: SocketAddr,
    /// The block list: a name is listed when its verdict is `block` (and
    /// `suspect`, with `list_suspect`).
    pub block_zone: String,
    /// The allow list: a name is listed when its verdict is `allow`.
    pub allow_zone: String,
    /// Also list suspect senders in the block list, under their own codes
    /// (127.0.0.10 and up), so weighted consumers can score them lower.
    pub list_suspect: bool,
    /// TTL of a listing, in seconds. Verdicts change as reports arrive and
    /// decay, so keep it short.
    pub ttl_secs: u32,
    /// TTL of "not listed" (NXDOMAIN, via the SOA minimum), in seconds.
    pub negative_ttl_secs: u32,
    /// Milliseconds a query may wait for its reputation before the server
    /// answers SERVFAIL (which consumers treat as "not listed").
    pub timeout_ms: u64,
    /// Seconds an idle DNS-over-TCP connection is kept open.
    pub tcp_idle_timeout_secs: u64,
    /// Most DNS-over-TCP connections open at once; more wait in the
    /// listen backlog until one closes.
    pub max_tcp_connections: usize,
    /// Threads receiving, answering and sending over UDP (1 to
    /// `MAX_UDP_THREADS`, 16). One answers well over 100k queries a second;
    /// more cost more CPU per query on a box the mail server shares, each
    /// waking for fewer datagrams.
    pub udp_threads: usize,
}

/// Most UDP threads a node may be configured with.
pub const MAX_UDP_THREADS: usize = 16;

impl Default for DnsblConfig {
    fn default() -> Self {
        DnsblConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 5300)),
            block_zone: "bl.vouch.local".into(),
            allow_zone: "wl.vouch.local".into(),
            list_suspect: false,
            ttl_secs: 300,
            negative_ttl_secs: 60,
            timeout_ms: 500,
            tcp_idle_timeout_secs: 10,
            max_tcp_connections: 256,
            udp_threads: 1,
        }
    }
}

impl DnsblConfig {
    pub(crate) fn check(&self) -> Result<(), SettingError> {
        if self.timeout_ms == 0 || self.tcp_idle_timeout_secs == 0 || self.max_tcp_connections == 0
        {
            return Err(SettingError::range(
                "dnsbl.timeout_ms, dnsbl.tcp_idle_timeout_secs and dnsbl.max_tcp_connections",
                "be at least 1",
            ));
        }
        if !(1..=MAX_UDP_THREADS).contains(&self.udp_threads) {
            return Err(SettingError::range(
                "dnsbl.udp_threads",
                "be between 1 and 16",
            ));
        }
        if self.ttl_secs > 86_400 || self.negative_ttl_secs > 86_400 {
            return Err(SettingError::range(
                "dnsbl.ttl_secs and dnsbl.negative_ttl_secs",
                "be at most 86400",
            ));
        }
        for (key, zone) in [
            ("dnsbl.block_zone", &self.block_zone),
            ("dnsbl.allow_zone", &self.allow_zone),
        ] {
            if !is_domain_name(zone) {
                return Err(SettingError::unparsable(
                    key,
                    zone,
                    "a lower-case domain name",
                    "letters, digits, hyphens; no trailing dot",
                ));
            }
        }
        let (bl, wl) = (self.block_zone.as_str(), self.allow_zone.as_str());
        if bl == wl || bl.ends_with(&format!(".{wl}")) || wl.ends_with(&format!(".{bl}")) {
            return Err(SettingError::range(
                "dnsbl.block_zone and dnsbl.allow_zone",
                "not overlap",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{DnsblConfig, MAX_UDP_THREADS};

    #[test]
    fn udp_threads_are_one_to_the_most() {
        let with = |udp_threads| DnsblConfig {
            udp_threads,
            ..DnsblConfig::default()
        };
        assert!(with(1).check().is_ok());
        assert!(with(MAX_UDP_THREADS).check().is_ok());
        for threads in [0, MAX_UDP_THREADS + 1] {
            let error = with(threads).check().expect_err("out of range").to_string();
            assert!(error.contains("dnsbl.udp_threads"), "{error}");
            assert!(error.contains(&MAX_UDP_THREADS.to_string()), "{error}");
        }
    }
}
