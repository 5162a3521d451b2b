//! Subjects: what a statement is about (an IP, a netblock, a domain or a node).
//!
//! Subjects have exactly one canonical form, so that "1.2.3.0/24" and
//! "1.2.3.77/24" are the same key in every node's store.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::key::NodeKey;

/// Longest domain name DNS can carry, in ASCII (RFC 1035, without the root dot).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest DNS label.
const MAX_LABEL_LEN: usize = 63;
/// IPv4 netblock size whose reputation is aggregated ("the /24").
pub const NETBLOCK_V4_PREFIX: u8 = 24;
/// IPv6 netblock size whose reputation is aggregated ("the /48").
pub const NETBLOCK_V6_PREFIX: u8 = 48;

/// What a statement is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Subject {
    /// One host address.
    Ip(IpAddr),
    /// A netblock, stored as its network address and prefix length; never a
    /// full-length prefix (that is an [`Subject::Ip`]).
    Net {
        /// The network address (host bits zero).
        addr: IpAddr,
        /// Prefix length in bits.
        prefix: u8,
    },
    /// A domain name in lower-case ASCII (IDNA A-labels), without trailing dot.
    Domain(String),
    /// Another Vouch node, named by its ed25519 public key.
    Node(NodeKey),
}

/// Why a subject is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// The text is empty.
    #[error("empty subject")]
    Empty,
    /// A netblock that does not parse, e.g. a prefix longer than the address.
    #[error("invalid netblock {0:?}")]
    BadNet(String),
    /// A domain that IDNA or the DNS length and character rules reject.
    #[error("invalid domain {0:?}: {1}")]
    BadDomain(String, &'static str),
    /// A subject on the wire that is not in canonical form.
    #[error("subject {0} is not in canonical form")]
    NotCanonical(String),
}

impl Subject {
    /// The netblock whose reputation aggregates this address: the /24 of an
    /// IPv4 address, the /48 of an IPv6 address. `None` for everything else.
    pub fn covering_netblock(&self) -> Option<Subject> {
        match self {
            Subject::Ip(ip) => Some(net_subject(*ip, netblock_prefix(ip))),
            _ => None,
        }
    }

    /// True for host addresses and netblocks (subjects a connecting client can match).
    pub fn is_address(&self) -> bool {
        matches!(self, Subject::Ip(_) | Subject::Net { .. })
    }

    /// Checks that a subject decoded from the wire is in canonical form.
    pub fn check_canonical(&self) -> Result<(), SubjectError> {
        let canonical = match self {
            Subject::Ip(_) | Subject::Node(_) => return Ok(()),
            Subject::Net { addr, prefix } => {
                let max = if addr.is_ipv4() { 32 } else { 128 };
                if *prefix >= max {
                    return Err(SubjectError::NotCanonical(self.to_string()));
                }
                net_subject(*addr, *prefix)
            }
            Subject::Domain(name) => Subject::Domain(normalise_domain(name)?),
        };
        if &canonical == self {
            Ok(())
        } else {
            Err(SubjectError::NotCanonical(self.to_string()))
        }
    }
}

/// The prefix length of the aggregated netblock for this address family.
pub fn netblock_prefix(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        NETBLOCK_V4_PREFIX
    } else {
        NETBLOCK_V6_PREFIX
    }
}

fn net_subject(addr: IpAddr, prefix: u8) -> Subject {
    // Both callers pass a prefix no longer than the address, so `new` cannot fail;
    // fall back to the host itself rather than panic if that ever changes.
    match IpNet::new(addr, prefix) {
        Ok(net) => Subject::Net {
            addr: net.trunc().addr(),
            prefix,
        },
        Err(_) => Subject::Ip(addr),
    }
}

fn normalise_domain(input: &str) -> Result<String, SubjectError> {
    let bad = |why| SubjectError::BadDomain(input.to_owned(), why);
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    if trimmed.is_empty() {
        return Err(SubjectError::Empty);
    }
    if trimmed.len() > 4 * MAX_DOMAIN_LEN {
        return Err(bad("too long"));
    }
    let ascii = idna::domain_to_ascii_strict(trimmed).map_err(|_| bad("IDNA conversion failed"))?;
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(bad("longer than 253 characters"));
    }
    let mut labels = 0;
    for label in ascii.split('.') {
        labels += 1;
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(bad("each label must be 1 to 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad("labels may hold only letters, digits and hyphens"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("labels may not start or end with a hyphen"));
        }
    }
    if labels < 2 {
        return Err(bad("a mail domain needs at least two labels"));
    }
    if ascii
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad("the top-level label may not be numeric"));
    }
    Ok(ascii)
}

impl FromStr for Subject {
    type Err = SubjectError;

    /// Parses the forms an operator types: `192.0.2.1`, `2001:db8::1`,
    /// `192.0.2.0/24`, `example.org`, or a node key as 64 hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(SubjectError::Empty);
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Subject::Ip(ip));
        }
        if s.contains('/') {
            let net: IpNet = s.parse().map_err(|_| SubjectError::BadNet(s.to_owned()))?;
            return Ok(if net.prefix_len() == net.max_prefix_len() {
                Subject::Ip(net.addr())
            } else {
                net_subject(net.addr(), net.prefix_len())
            });
        }
        // 64 characters without a dot cannot be a domain (labels are ≤ 63).
        if let Ok(key) = s.parse::<NodeKey>() {
            return Ok(Subject::Node(key));
        }
        normalise_domain(s).map(Subject::Domain)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Ip(ip) => write!(f, "{ip}"),
            Subject::Net { addr, prefix } => write!(f, "{addr}/{prefix}"),
            Subject::Domain(name) => f.write_str(name),
            Subject::Node(key) => write!(f, "{key}"),
        }
    }
}

impl From<IpAddr> for Subject {
    fn from(ip: IpAddr) -> Self {
        Subject::Ip(ip)
    }
}

impl From<Ipv4Addr> for Subject {
    fn from(ip: Ipv4Addr) -> Self {
        Subject::Ip(IpAddr::V4(ip))
    }
}

impl From<Ipv6Addr> for Subject {
    fn from(ip: Ipv6Addr) -> Self {
        Subject::Ip(IpAddr::V6(ip))
    }
}
