//! Evidence from the mail stack: a raw message (handed over by the
//! operator, a Junk-folder script or a filter) turned into what to report:
//! the host that handed it to the operator's hosts, the relay chain behind
//! it, and the names it gave, without anyone typing an address.

use std::net::IpAddr;

use libp2p::multiaddr::Protocol;

use crate::config::Config;

mod address;
mod config;
mod limiter;
pub mod message;
pub mod origin;
mod source;

pub use config::MessageConfig;
pub use limiter::HourlyLimit;
pub use origin::{Origin, OwnHosts};
pub use source::Source;

/// What the node needs to turn messages into statements: whose hops to
/// skip, the hourly budget, and the size cap.
#[derive(Debug)]
pub struct Intake {
    /// The operator's own hosts and networks.
    pub own: OwnHosts,
    /// Statements made from messages this hour.
    pub budget: HourlyLimit,
    /// Largest raw message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Whether the HELO name and the envelope sender's domain are reported
    /// besides the origin's address.
    pub report_names: bool,
}

impl Intake {
    /// From `[mta]`, adding every address the node itself listens on to
    /// the operator's own networks.
    pub fn new(config: &Config) -> Intake {
        let mta = &config.mta;
        let mut networks = mta.own_networks.clone();
        let p2p_ips = config
            .p2p
            .listen
            .iter()
            .chain(&config.p2p.external)
            .filter_map(|addr| addr.parse::<libp2p::Multiaddr>().ok())
            .filter_map(|addr| {
                addr.iter().find_map(|part| match part {
                    Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
                    Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
                    _ => None,
                })
            });
        let listening = [
            config.api.listen.ip(),
            config.policy.listen.ip(),
            config.dnsbl.listen.ip(),
        ];
        networks.extend(
            listening
                .into_iter()
                .chain(p2p_ips)
                .filter(|ip| !ip.is_unspecified())
                .map(ipnet::IpNet::from),
        );
        Intake {
            own: OwnHosts::new(networks, mta.own_hosts.clone()),
            budget: HourlyLimit::new(mta.max_reports_per_hour),
            max_message_bytes: mta.max_message_bytes,
            report_names: mta.report_names,
        }
    }
}

#[cfg(test)]
mod tests;
