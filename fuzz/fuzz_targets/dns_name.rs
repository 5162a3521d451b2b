//! Query names under the DNS zones, as the node classifies them: whatever
//! the name, classifying never panics, and an address it finds is the one
//! the name spells: the address's own reversed name under the same zone
//! classifies back to it.
//!
//! The classifier is the node's own source file, compiled here on its own
//! (it needs only hickory's name type and the protocol's subjects).
#![no_main]

use std::net::IpAddr;

use hickory_server::proto::rr::{LowerName, Name};
use libfuzzer_sys::fuzz_target;
use vouch_protocol::Subject;

#[path = "../../node/src/mta/dnsbl/names.rs"]
#[allow(dead_code)]
mod names;

use names::{Target, ZoneNames};

/// The reversed-address name of `ip` under `apex` (RFC 5782).
fn reversed(ip: IpAddr, apex: &LowerName) -> String {
    let labels: Vec<String> = match ip {
        IpAddr::V4(v4) => v4.octets().iter().rev().map(u8::to_string).collect(),
        IpAddr::V6(v6) => {
            let value = u128::from(v6);
            (0..32)
                .map(|i| format!("{:x}", (value >> (4 * i)) & 0xf))
                .collect()
        }
    };
    format!("{}.{apex}", labels.join("."))
}

fuzz_target!(|data: &[u8]| {
    let zones = ZoneNames::new("bl.vouch.local", "wl.vouch.local");
    // Names as text, and as raw labels split on dots (any bytes).
    let mut candidates = Vec::new();
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(name) = Name::from_ascii(text)
    {
        candidates.push(name);
    }
    if let Ok(name) = Name::from_labels(data.split(|&b| b == b'.')) {
        candidates.push(name);
    }
    for mut name in candidates {
        name.set_fqdn(true);
        let lower = LowerName::new(&name);
        let Ok((zone, Target::Subject(Subject::Ip(ip)))) = zones.classify(&lower) else {
            continue;
        };
        let again = Name::from_ascii(reversed(ip, zones.apex(zone))).expect("a reversed name");
        assert_eq!(
            zones.classify(&LowerName::new(&again)),
            Ok((zone, Target::Subject(Subject::Ip(ip)))),
            "{name} gave {ip}"
        );
    }
});
