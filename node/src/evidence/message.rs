//! What a raw message says about the way it came: its Received hops, the
//! source addresses its ARC sets recorded, and its envelope sender. Parsed
//! with mail-parser (headers only: the body is hashed, never parsed).

use std::net::IpAddr;

use mail_parser::{Host, MessageParser};
use sha2::{Digest, Sha256};

/// Most Received headers read; a message with more is treated as having
/// these (the hops that matter are the top ones, added last).
pub const MAX_HOPS: usize = 64;

/// One Received header: the host that handed the message on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The connecting client's address, when the header records one.
    pub ip: Option<IpAddr>,
    /// The name it greeted with (HELO/EHLO), when not an address literal.
    pub helo: Option<String>,
    /// Its reverse-DNS name as the receiving MTA recorded it.
    pub rdns: Option<String>,
}

/// Everything the origin walk needs from one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFacts {
    /// Received hops, top first (the newest, added by the last receiver).
    pub hops: Vec<Hop>,
    /// Source addresses recorded in ARC-Authentication-Results
    /// (`smtp.remote-ip`, `smtp.client-ip` or `policy.iprev`), highest
    /// instance first.
    pub arc_ips: Vec<IpAddr>,
    /// The envelope sender's domain (Return-Path), when it names one.
    pub envelope_domain: Option<String>,
    /// SHA-256 of the body, so reports of the same bulk mail correlate.
    pub body_hash: [u8; 32],
}

/// Why a message cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    /// Empty input, or nothing that parses as a header section.
    #[error("not a mail message: no header section found")]
    NoHeaders,
    /// No Received header records the address of a sending host.
    #[error("the message has no Received header with a client address, so it names no host")]
    NoReceived,
}

/// Reads the header section of `raw` (RFC 5322).
pub fn parse(raw: &[u8]) -> Result<MessageFacts, MessageError> {
    let message = MessageParser::new()
        .parse_headers(raw)
        .ok_or(MessageError::NoHeaders)?;
    if message.headers().is_empty() {
        return Err(MessageError::NoHeaders);
    }
    let hops: Vec<Hop> = message
        .received_all()
        .take(MAX_HOPS)
        .map(|received| Hop {
            ip: received.from_ip.or(match &received.from {
                Some(Host::IpAddr(ip)) => Some(*ip),
                _ => None,
            }),
            helo: match &received.from {
                Some(Host::Name(name)) => Some(name.to_ascii_lowercase()),
                _ => None,
            },
            rdns: received
                .from_iprev
                .as_deref()
                .map(str::to_ascii_lowercase)
                .filter(|name| name != "unknown"),
        })
        .collect();
    if hops.iter().all(|hop| hop.ip.is_none()) {
        return Err(MessageError::NoReceived);
    }
    // Parsing headers only leaves the body offset unset: the body starts
    // after the last header and the blank line.
    let headers_end = message
        .headers()
        .iter()
        .map(|h| h.offset_end)
        .max()
        .and_then(|end| usize::try_from(end).ok())
        .unwrap_or(0);
    let rest = raw.get(headers_end..).unwrap_or_default();
    let body = rest
        .strip_prefix(b"\r\n")
        .or_else(|| rest.strip_prefix(b"\n"))
        .unwrap_or(rest);
    Ok(MessageFacts {
        hops,
        arc_ips: arc_ips(&message),
        envelope_domain: message
            .return_path()
            .as_text()
            .and_then(|path| path.rsplit_once('@'))
            .map(|(_, domain)| domain.trim_end_matches('>').to_ascii_lowercase())
            .filter(|domain| !domain.is_empty()),
        body_hash: Sha256::digest(body).into(),
    })
}

/// The client addresses ARC-Authentication-Results headers record, highest
/// instance (the nearest forwarder's) first. mail-parser keeps these
/// headers as text; their method properties are `name=value` tokens
/// (RFC 8601), so reading two property names needs no grammar.
fn arc_ips(message: &mail_parser::Message) -> Vec<IpAddr> {
    let mut sets: Vec<(u32, IpAddr)> = message
        .header_values(mail_parser::HeaderName::ArcAuthenticationResults)
        .filter_map(|value| value.as_text())
        .filter_map(|text| {
            let tokens = || {
                text.split(|c: char| c.is_whitespace() || c == ';')
                    .filter_map(|token| token.split_once('='))
            };
            let instance = tokens()
                .find(|(name, _)| name.eq_ignore_ascii_case("i"))
                .and_then(|(_, n)| n.parse().ok())?;
            let ip = tokens()
                .find(|(name, _)| {
                    name.eq_ignore_ascii_case("smtp.remote-ip")
                        || name.eq_ignore_ascii_case("smtp.client-ip")
                        || name.eq_ignore_ascii_case("policy.iprev")
                })
                .and_then(|(_, ip)| ip.trim_matches(['[', ']']).parse().ok())?;
            Some((instance, ip))
        })
        .take(MAX_HOPS)
        .collect();
    sets.sort_by_key(|&(instance, _)| std::cmp::Reverse(instance));
    sets.into_iter().map(|(_, ip)| ip).collect()
}
