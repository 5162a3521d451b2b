//! Query names under the list zones: reversed-octet IPv4
//! (`2.0.0.127.bl.vouch.local`), reversed-nibble IPv6 (32 labels), and
//! domains (`example.org.bl.vouch.local`), plus the RFC 5782 test points.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_server::proto::rr::{LowerName, Name};
use vouch_protocol::Subject;

/// Which list a name is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The block list (DNSBL / RHSBL).
    Block,
    /// The allow list (DNSWL).
    Allow,
}

impl Zone {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Zone::Block => "block",
            Zone::Allow => "allow",
        }
    }
}

/// What a name under a zone asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The zone itself (SOA).
    Apex,
    /// An RFC 5782 test point that must be listed: 127.0.0.2, ::FFFF:7F00:2, TEST.
    TestListed,
    /// An RFC 5782 test point that must not be listed: 127.0.0.1, ::FFFF:7F00:1, INVALID.
    TestUnlisted,
    /// A sender address or domain.
    Subject(Subject),
}

/// Why a name cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Not under either zone: REFUSED.
    #[error("{0} is not under a served zone")]
    OutOfZone(String),
    /// Under a zone, but neither a reversed address nor a domain: FORMERR.
    #[error("{0} is neither a reversed IPv4/IPv6 address nor a domain")]
    Malformed(String),
}

/// The two zone names, parsed once.
#[derive(Debug, Clone)]
pub struct ZoneNames {
    block: LowerName,
    allow: LowerName,
    block_labels: Vec<Box<[u8]>>,
    allow_labels: Vec<Box<[u8]>>,
}

/// Why labels cannot be answered, before the name is written out for
/// [`NameError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFault {
    /// Not under either zone.
    OutOfZone,
    /// Under a zone, but neither a reversed address nor a domain.
    Malformed,
}

impl ZoneNames {
    /// Parses the configured zone names (checked by the config already; a
    /// name hickory still refuses becomes the root, which matches nothing
    /// useful but never panics).
    pub fn new(block: &str, allow: &str) -> ZoneNames {
        let parse = |zone: &str| {
            let mut name = Name::from_ascii(zone).unwrap_or_else(|_| Name::root());
            name.set_fqdn(true);
            LowerName::new(&name)
        };
        let labels = |name: &LowerName| name.iter().map(Box::from).collect();
        let (block, allow) = (parse(block), parse(allow));
        ZoneNames {
            block_labels: labels(&block),
            allow_labels: labels(&allow),
            block,
            allow,
        }
    }

    /// The apex name of `zone`.
    pub fn apex(&self, zone: Zone) -> &LowerName {
        match zone {
            Zone::Block => &self.block,
            Zone::Allow => &self.allow,
        }
    }

    /// Classifies a query name.
    pub fn classify(&self, name: &LowerName) -> Result<(Zone, Target), NameError> {
        let labels: Vec<&[u8]> = name.iter().collect();
        self.classify_labels(&labels).map_err(|fault| match fault {
            NameFault::OutOfZone => NameError::OutOfZone(name.to_string()),
            NameFault::Malformed => NameError::Malformed(name.to_string()),
        })
    }

    /// Classifies a name given as its lowercase labels, leftmost first
    /// (the root's empty label left out), as the DNS list reads them off
    /// the wire without building a [`Name`].
    pub fn classify_labels(&self, labels: &[&[u8]]) -> Result<(Zone, Target), NameFault> {
        let under = |apex: &[Box<[u8]>]| {
            labels.len() >= apex.len()
                && labels
                    .iter()
                    .rev()
                    .zip(apex.iter().rev())
                    .all(|(label, apex)| *label == &**apex)
        };
        let (zone, apex) = if under(&self.block_labels) {
            (Zone::Block, self.block_labels.len())
        } else if under(&self.allow_labels) {
            (Zone::Allow, self.allow_labels.len())
        } else {
            return Err(NameFault::OutOfZone);
        };
        let own = labels
            .get(..labels.len().saturating_sub(apex))
            .unwrap_or_default();
        let target = match own.len() {
            0 => Target::Apex,
            4 if own.iter().all(|l| is_decimal(l)) => {
                test_point(IpAddr::V4(reversed_v4(own).ok_or(NameFault::Malformed)?))
            }
            32 if own.iter().all(|l| l.len() == 1) => {
                test_point(IpAddr::V6(reversed_v6(own).ok_or(NameFault::Malformed)?))
            }
            _ => domain(own).ok_or(NameFault::Malformed)?,
        };
        Ok((zone, target))
    }
}

fn is_decimal(label: &[u8]) -> bool {
    (1..=3).contains(&label.len()) && label.iter().all(u8::is_ascii_digit)
}

/// `[d, c, b, a]` → a.b.c.d
fn reversed_v4(labels: &[&[u8]]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    for (octet, label) in octets.iter_mut().rev().zip(labels) {
        *octet = std::str::from_utf8(label).ok()?.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// 32 nibbles, least significant first.
fn reversed_v6(labels: &[&[u8]]) -> Option<Ipv6Addr> {
    let mut value: u128 = 0;
    for label in labels.iter().rev() {
        let digit = char::from(*label.first()?).to_digit(16)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(Ipv6Addr::from(value))
}

fn test_point(ip: IpAddr) -> Target {
    const LISTED_V6: Ipv6Addr = Ipv4Addr::new(127, 0, 0, 2).to_ipv6_mapped();
    const UNLISTED_V6: Ipv6Addr = Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped();
    match ip {
        IpAddr::V4(v4) if v4 == Ipv4Addr::new(127, 0, 0, 2) => Target::TestListed,
        IpAddr::V4(v4) if v4 == Ipv4Addr::new(127, 0, 0, 1) => Target::TestUnlisted,
        IpAddr::V6(v6) if v6 == LISTED_V6 => Target::TestListed,
        IpAddr::V6(v6) if v6 == UNLISTED_V6 => Target::TestUnlisted,
        ip => Target::Subject(Subject::Ip(ip)),
    }
}

fn domain(labels: &[&[u8]]) -> Option<Target> {
    let mut text = String::new();
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        text.push_str(std::str::from_utf8(label).ok()?);
    }
    match text.as_str() {
        "test" => return Some(Target::TestListed),
        "invalid" => return Some(Target::TestUnlisted),
        _ => {}
    }
    match text.parse() {
        Ok(subject @ Subject::Domain(_)) => Some(Target::Subject(subject)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(name: &str) -> Result<(Zone, Target), NameError> {
        let names = ZoneNames::new("bl.vouch.local", "wl.vouch.local");
        let name = Name::from_ascii(name).expect("name");
        names.classify(&LowerName::new(&name))
    }

    fn nibbles(ip: Ipv6Addr) -> String {
        let hex = format!("{:032x}", u128::from(ip));
        hex.chars().rev().map(|c| format!("{c}.")).collect()
    }

    #[test]
    fn rfc5782_test_points() {
        use Target::*;
        for zone in ["bl", "wl"] {
            let z = if zone == "bl" {
                Zone::Block
            } else {
                Zone::Allow
            };
            let ask = |label: String| {
                classify(&format!("{label}{zone}.vouch.local.")).expect("classifies")
            };
            assert_eq!(ask("2.0.0.127.".into()), (z, TestListed));
            assert_eq!(ask("1.0.0.127.".into()), (z, TestUnlisted));
            let listed: Ipv6Addr = "::FFFF:7F00:2".parse().expect("v6");
            let unlisted: Ipv6Addr = "::FFFF:7F00:1".parse().expect("v6");
            assert_eq!(ask(nibbles(listed)), (z, TestListed));
            assert_eq!(ask(nibbles(unlisted)), (z, TestUnlisted));
            assert_eq!(ask("TEST.".into()), (z, TestListed));
            assert_eq!(ask("INVALID.".into()), (z, TestUnlisted));
        }
    }

    #[test]
    fn addresses_and_domains_under_the_zones() {
        let subject = |s: &str| Target::Subject(s.parse().expect("subject"));
        assert_eq!(
            classify("9.113.0.203.bl.vouch.local.").expect("v4"),
            (Zone::Block, subject("203.0.113.9"))
        );
        let v6: Ipv6Addr = "2001:db8::25".parse().expect("v6");
        assert_eq!(
            classify(&format!("{}wl.vouch.local.", nibbles(v6))).expect("v6"),
            (Zone::Allow, subject("2001:db8::25"))
        );
        assert_eq!(
            classify("Mail.Example.ORG.bl.vouch.local.").expect("domain"),
            (Zone::Block, subject("mail.example.org"))
        );
        assert_eq!(
            classify("bl.vouch.local.").expect("apex"),
            (Zone::Block, Target::Apex)
        );
    }

    #[test]
    fn out_of_zone_and_malformed_names_are_named() {
        assert!(matches!(
            classify("example.org."),
            Err(NameError::OutOfZone(_))
        ));
        assert!(matches!(
            classify("vouch.local."),
            Err(NameError::OutOfZone(_))
        ));
        assert!(matches!(
            classify("xbl.vouch.local."),
            Err(NameError::OutOfZone(_))
        ));
        for bad in [
            "256.0.0.127.bl.vouch.local.",
            "0.0.127.bl.vouch.local.",
            "1.2.3.4.5.bl.vouch.local.",
            "single.bl.vouch.local.",
            "a_b.example.bl.vouch.local.",
        ] {
            assert!(
                matches!(classify(bad), Err(NameError::Malformed(_))),
                "{bad}"
            );
        }
        let g = "g.".repeat(32);
        assert!(matches!(
            classify(&format!("{g}bl.vouch.local.")),
            Err(NameError::Malformed(_))
        ));
    }
}
