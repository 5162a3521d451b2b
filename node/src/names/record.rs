//! The TXT record an operator publishes at `_vouch.<domain>` so others can
//! vouch for "example.org" instead of 64 hex digits:
//! `v=vouch1; k=<node key, hex>; a=<multiaddr ending in /p2p/<peer id>>`
//! (`a` optional). Unknown `name=value` pairs are ignored, for later versions.

use libp2p::Multiaddr;
use vouch_protocol::NodeKey;

/// The label the record lives under.
pub const LABEL: &str = "_vouch";
/// The version tag every record starts with.
const VERSION: &str = "vouch1";

/// What a record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRecord {
    /// The operator's node key.
    pub key: NodeKey,
    /// Where its node listens, if published.
    pub addr: Option<Multiaddr>,
}

/// Why TXT data is not a usable record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not a Vouch record at all (no `v=vouch1`).
    #[error("not a Vouch record (it must start with v=vouch1)")]
    NotVouch,
    /// A Vouch record without a usable key.
    #[error("the record's key is missing or not 64 hex digits")]
    BadKey,
    /// A Vouch record whose address does not parse.
    #[error("the record's address {0:?} is not a multiaddr")]
    BadAddr(String),
}

/// The record for `key` (and `addr`), as TXT data.
pub fn render(key: &NodeKey, addr: Option<&Multiaddr>) -> String {
    match addr {
        Some(addr) => format!("v={VERSION}; k={key}; a={addr}"),
        None => format!("v={VERSION}; k={key}"),
    }
}

/// Reads TXT data (the strings of one record, joined).
pub fn parse(text: &str) -> Result<NameRecord, RecordError> {
    let mut pairs = text
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .map_or((p, ""), |(k, v)| (k.trim(), v.trim()))
        });
    if pairs.next() != Some(("v", VERSION)) {
        return Err(RecordError::NotVouch);
    }
    let (mut key, mut addr) = (None, None);
    for (name, value) in pairs {
        match name {
            "k" => key = Some(value.parse::<NodeKey>().map_err(|_| RecordError::BadKey)?),
            "a" => {
                addr = Some(
                    value
                        .parse::<Multiaddr>()
                        .map_err(|_| RecordError::BadAddr(value.into()))?,
                )
            }
            _ => {}
        }
    }
    Ok(NameRecord {
        key: key.ok_or(RecordError::BadKey)?,
        addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_record_parses_back() {
        let key = NodeKey([7; 32]);
        let addr: Multiaddr = "/ip4/192.0.2.1/tcp/7702".parse().unwrap();
        for addr in [None, Some(&addr)] {
            let parsed = parse(&render(&key, addr)).unwrap();
            assert_eq!(parsed.key, key);
            assert_eq!(parsed.addr.as_ref(), addr);
        }
        // Spacing and unknown pairs do not matter.
        let loose = format!("v=vouch1;k={key} ; x=later;");
        assert_eq!(parse(&loose).unwrap().key, key);
    }

    #[test]
    fn other_records_and_broken_ones_say_why() {
        assert_eq!(parse("v=spf1 -all"), Err(RecordError::NotVouch));
        assert_eq!(parse(""), Err(RecordError::NotVouch));
        assert_eq!(parse("v=vouch1"), Err(RecordError::BadKey));
        assert_eq!(parse("v=vouch1; k=zz"), Err(RecordError::BadKey));
        let key = "ab".repeat(32);
        assert!(matches!(
            parse(&format!("v=vouch1; k={key}; a=not-an-addr")),
            Err(RecordError::BadAddr(_))
        ));
    }
}
