//! Which addresses may be reported at all: only hosts on the public
//! internet. Written by hand because `IpAddr::is_global` is unstable and the
//! list is short: the IANA special-purpose registries (RFC 6890 and
//! successors).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is never reported, or `None` for a public address.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => special_v4(v4),
            None => special_v6(v6),
        },
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() || a == 0 => "unspecified (0.0.0.0/8)",
        _ if ip.is_private() => "private (RFC 1918)",
        (100, 64..=127, _) => "shared address space (100.64.0.0/10)",
        _ if ip.is_link_local() => "link-local",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation (TEST-NET)",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        _ if ip.is_multicast() => "multicast",
        _ if a >= 240 => "reserved (240.0.0.0/4)",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let [first, second, third, fourth, ..] = ip.segments();
    Some(match first {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_multicast() => "multicast",
        0xfc00..=0xfdff => "unique local (fc00::/7)",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local (deprecated)",
        0x2001 if second == 0x0db8 => "documentation (2001:db8::/32)",
        0x2001 if second < 0x0200 => "IETF protocol assignments (2001::/23)",
        0x0064 if second == 0xff9b => "IPv4/IPv6 translation (64:ff9b::/96)",
        0x0100 if [second, third, fourth] == [0, 0, 0] => "discard-only (100::/64)",
        0x0000 => "reserved (::/8)",
        _ if first & 0xe000 != 0x2000 => "not global unicast (outside 2000::/3)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_pass_and_special_ones_say_why() {
        for public in [
            "8.8.8.8",
            "45.33.32.156",
            "2a00:1450:4001:80b::200e",
            "1.1.1.1",
        ] {
            assert_eq!(special_purpose(public.parse().unwrap()), None, "{public}");
        }
        for (special, why) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("100.100.0.1", "shared"),
            ("169.254.1.1", "link-local"),
            ("203.0.113.9", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("250.1.1.1", "reserved"),
            ("0.1.2.3", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("fd00::1", "unique local"),
            ("fe80::1", "link-local"),
            ("2001:db8::1", "documentation"),
            ("64:ff9b::1.2.3.4", "translation"),
            ("4000::1", "not global"),
        ] {
            let reason = special_purpose(special.parse().unwrap());
            assert!(
                reason.is_some_and(|r| r.contains(why)),
                "{special}: {reason:?}"
            );
        }
    }
}
