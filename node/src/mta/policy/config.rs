//! Settings of the Postfix policy server (the `[policy]` table).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::config::SettingError;

/// What the policy server answers for one verdict (Postfix access(5) actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyAction {
    /// `action=<reject_code> <reject_status> Vouch: <reason>`: refuse the mail.
    Reject,
    /// `action=DEFER_IF_PERMIT <defer_status> Vouch: <reason>`: a temporary
    /// refusal, only if nothing later in the restrictions rejects anyway.
    DeferIfPermit,
    /// `action=PREPEND <header>: verdict=...; score=...`: accept and tag.
    Prepend,
    /// `action=DUNNO`: no opinion; Postfix goes on with the next restriction.
    Dunno,
}

/// The Postfix SMTPD policy delegation server (`check_policy_service`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Serve the policy protocol at all.
    pub enabled: bool,
    /// Address to listen on; loopback, because Postfix runs beside the node.
    pub listen: SocketAddr,
    /// Milliseconds a request may wait for its reputation before the server
    /// answers DUNNO: Vouch never rejects mail because it is slow.
    pub timeout_ms: u64,
    /// Seconds an idle connection is kept open (Postfix closes its own after
    /// `smtpd_policy_service_max_idle`, 100 s by default).
    pub idle_timeout_secs: u64,
    /// Connections served at once; further clients wait to be accepted.
    pub max_connections: usize,
    /// Longest attribute line in bytes; a longer one closes the connection.
    pub max_line_bytes: usize,
    /// Largest request (all its lines) in bytes; a larger one closes the connection.
    pub max_request_bytes: usize,
    /// Also judge the envelope sender's domain; the worst verdict wins.
    pub check_sender_domain: bool,
    /// Also judge the HELO/EHLO name (when it is a domain); the worst verdict wins.
    pub check_helo_name: bool,
    /// Answer for a blocked sender: reject, defer_if_permit, prepend or dunno.
    pub on_block: PolicyAction,
    /// Answer for a suspect sender: defer_if_permit, prepend or dunno.
    pub on_suspect: PolicyAction,
    /// Answer for a neutral sender: prepend or dunno.
    pub on_neutral: PolicyAction,
    /// Answer for an allowed sender: prepend or dunno.
    pub on_allow: PolicyAction,
    /// SMTP reply code of a rejection (5xx).
    pub reject_code: u16,
    /// Enhanced status code of a rejection (RFC 3463, 5.x.y).
    pub reject_status: String,
    /// Enhanced status code of a deferral (4.x.y).
    pub defer_status: String,
    /// Name of the header that `prepend` adds.
    pub header: String,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 10040)),
            timeout_ms: 500,
            idle_timeout_secs: 300,
            max_connections: 256,
            max_line_bytes: 2048,
            max_request_bytes: 16 * 1024,
            check_sender_domain: false,
            check_helo_name: false,
            on_block: PolicyAction::Reject,
            on_suspect: PolicyAction::Prepend,
            on_neutral: PolicyAction::Prepend,
            on_allow: PolicyAction::Prepend,
            reject_code: 554,
            reject_status: "5.7.1".into(),
            defer_status: "4.7.1".into(),
            header: "X-Vouch".into(),
        }
    }
}

impl PolicyConfig {
    pub(crate) fn check(&self) -> Result<(), SettingError> {
        use PolicyAction::*;
        if self.timeout_ms == 0 || self.idle_timeout_secs == 0 || self.max_connections == 0 {
            return Err(SettingError::range(
                "policy.timeout_ms, policy.idle_timeout_secs and policy.max_connections",
                "be at least 1",
            ));
        }
        if self.max_line_bytes < 256 || self.max_request_bytes < self.max_line_bytes {
            return Err(SettingError::range(
                "policy.max_line_bytes",
                "be at least 256 and at most policy.max_request_bytes",
            ));
        }
        if matches!(self.on_suspect, Reject) {
            return Err(SettingError::range(
                "policy.on_suspect",
                "be defer_if_permit, prepend or dunno",
            ));
        }
        if matches!(self.on_neutral, Reject | DeferIfPermit)
            || matches!(self.on_allow, Reject | DeferIfPermit)
        {
            return Err(SettingError::range(
                "policy.on_neutral and policy.on_allow",
                "be prepend or dunno",
            ));
        }
        if !(500..=599).contains(&self.reject_code) {
            return Err(SettingError::range(
                "policy.reject_code",
                "be a 5xx SMTP code",
            ));
        }
        if !is_status(&self.reject_status, '5') {
            return Err(SettingError::range(
                "policy.reject_status",
                "be an enhanced status code 5.x.y",
            ));
        }
        if !is_status(&self.defer_status, '4') {
            return Err(SettingError::range(
                "policy.defer_status",
                "be an enhanced status code 4.x.y",
            ));
        }
        let header_ok = !self.header.is_empty()
            && self.header.len() <= 64
            && self
                .header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !header_ok {
            return Err(SettingError::range(
                "policy.header",
                "be 1 to 64 letters, digits or hyphens",
            ));
        }
        Ok(())
    }
}

/// True for an RFC 3463 enhanced status code of the given class (`5.7.1`).
fn is_status(text: &str, class: char) -> bool {
    let mut parts = text.split('.');
    let first = parts.next();
    let rest: Vec<&str> = parts.collect();
    first == Some(class.encode_utf8(&mut [0; 4]))
        && rest.len() == 2
        && rest
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}
