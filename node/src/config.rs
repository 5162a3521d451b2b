//! Node configuration: a TOML file in the data directory, every field with a
//! documented default so an empty file (or none) is a working node.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::trust::{self, InvalidSetting};

/// Everything a node can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP API.
    pub api: ApiConfig,
    /// Trust computation and scoring thresholds.
    pub trust: trust::Config,
    /// Storage housekeeping.
    pub store: StoreConfig,
    /// The Postfix policy delegation server.
    pub policy: PolicyConfig,
    /// The DNSBL / DNSWL zone server.
    pub dnsbl: DnsblConfig,
    /// Evidence the mail stack hands over: raw messages to report.
    pub mta: MtaConfig,
    /// Looking up operators' names (`_vouch.<domain>` records).
    pub names: crate::names::Config,
    /// The peer-to-peer network (libp2p).
    pub p2p: crate::p2p::Config,
}

/// HTTP API settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address to listen on. Loopback by default: the API is for the local
    /// mail server and operator, and write calls carry the node's authority.
    pub listen: SocketAddr,
    /// Most subjects in one batch lookup.
    pub max_batch: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// A request not answered within this many milliseconds (a slow
    /// client, a stuck store) gets 408 and its connection is freed.
    pub request_timeout_ms: u64,
    /// Most requests handled at once; the rest wait their turn.
    pub max_concurrent_requests: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7701)),
            max_batch: 1000,
            max_body_bytes: 64 * 1024,
            request_timeout_ms: 10_000,
            max_concurrent_requests: 256,
        }
    }
}

/// Storage housekeeping settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Seconds between sweeps that delete expired statements.
    pub sweep_interval_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            sweep_interval_secs: 300,
        }
    }
}

/// Reading raw messages as evidence (`vouch report --message`,
/// `POST /v1/report/message`, the Junk-folder and rspamd recipes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MtaConfig {
    /// Networks of the operator's own mail hosts: Received hops from them
    /// are skipped when looking for the host that sent a message. Loopback,
    /// private and other special-purpose ranges, and the addresses this
    /// node listens on, are always skipped.
    pub own_networks: Vec<ipnet::IpNet>,
    /// Names of the operator's own mail hosts, as their reverse DNS reads
    /// in Received headers: hops from them are skipped too, and these
    /// names and their domains are never reported.
    pub own_hosts: Vec<String>,
    /// Most statements made from messages in one hour; the rest are
    /// counted (`vouch_auto_reports_total{outcome="rate_limited"}`) and logged.
    pub max_reports_per_hour: u32,
    /// Largest raw message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Also report the HELO name and the envelope sender's domain a message
    /// names. Spammers forge both; turn this off to report only the
    /// address that handed the message over.
    pub report_names: bool,
}

impl Default for MtaConfig {
    fn default() -> Self {
        MtaConfig {
            own_networks: Vec::new(),
            own_hosts: Vec::new(),
            max_reports_per_hour: 120,
            max_message_bytes: 32 << 20,
            report_names: true,
        }
    }
}

impl MtaConfig {
    fn check(&self) -> Result<(), SettingError> {
        if self.max_message_bytes < 1024 {
            return Err(SettingError::range(
                "mta.max_message_bytes",
                "be at least 1024",
            ));
        }
        if let Some(bad) = self
            .own_hosts
            .iter()
            .find(|h| !is_zone_name(&h.to_ascii_lowercase()))
        {
            return Err(SettingError::unparsable(
                "mta.own_hosts",
                bad,
                "a host name",
                "letters, digits and hyphens in dot-separated labels",
            ));
        }
        Ok(())
    }
}

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
    fn check(&self) -> Result<(), SettingError> {
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
}

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
        }
    }
}

impl DnsblConfig {
    fn check(&self) -> Result<(), SettingError> {
        if self.timeout_ms == 0 || self.tcp_idle_timeout_secs == 0 {
            return Err(SettingError::range(
                "dnsbl.timeout_ms and dnsbl.tcp_idle_timeout_secs",
                "be at least 1",
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
            if !is_zone_name(zone) {
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

fn is_zone_name(zone: &str) -> bool {
    !zone.is_empty()
        && zone.len() <= 200
        && zone.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// A setting the node cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// A value outside what makes sense.
    #[error(transparent)]
    Range(#[from] InvalidSetting),
    /// A value that is not what the setting holds.
    #[error("{setting}: {value:?} is not {expected} ({detail})")]
    Unparsable {
        /// The setting, as named in the configuration file.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What it should have been ("a multiaddr").
        expected: &'static str,
        /// Why it is not.
        detail: String,
    },
}

impl SettingError {
    /// `setting` must `rule`.
    pub fn range(setting: &'static str, rule: &'static str) -> Self {
        SettingError::Range(InvalidSetting::new(setting, rule))
    }

    /// `value` of `setting` is not `expected`, because of `detail`.
    pub fn unparsable(
        setting: &'static str,
        value: &str,
        expected: &'static str,
        detail: impl std::fmt::Display,
    ) -> Self {
        SettingError::Unparsable {
            setting,
            value: value.to_owned(),
            expected,
            detail: detail.to_string(),
        }
    }
}

/// Why configuration text could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// It is not valid TOML for this schema.
    #[error("{0}")]
    Toml(#[from] Box<toml::de::Error>),
    /// A value parses but makes no sense.
    #[error("{0}")]
    Invalid(#[from] SettingError),
}

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file's text could not be used.
    #[error("invalid config {path}: {source}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with the line and column or the setting.
        source: ParseError,
    },
}

impl Config {
    /// Reads a config file; a missing file means all defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let path_name = || path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path_name(),
                    source,
                });
            }
        };
        Config::parse(&text).map_err(|source| ConfigError::Invalid {
            path: path_name(),
            source,
        })
    }

    /// Parses and checks config text.
    pub fn parse(text: &str) -> Result<Config, ParseError> {
        let config: Config = toml::from_str(text).map_err(Box::new)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), SettingError> {
        if self.api.max_batch == 0 {
            return Err(SettingError::range("api.max_batch", "be at least 1"));
        }
        if self.api.max_body_bytes < 1024 {
            return Err(SettingError::range(
                "api.max_body_bytes",
                "be at least 1024",
            ));
        }
        if self.api.request_timeout_ms == 0 || self.api.max_concurrent_requests == 0 {
            return Err(SettingError::range(
                "api.request_timeout_ms and api.max_concurrent_requests",
                "be at least 1",
            ));
        }
        if self.store.sweep_interval_secs == 0 {
            return Err(SettingError::range(
                "store.sweep_interval_secs",
                "be at least 1",
            ));
        }
        self.policy.check()?;
        self.dnsbl.check()?;
        self.mta.check()?;
        self.names.check()?;
        self.p2p.check()?;
        Ok(self.trust.check()?)
    }

    /// The default configuration as commented TOML, written by `vouch init`.
    pub fn default_toml() -> String {
        let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
        format!(
            "# Vouch node configuration. Every setting is optional; these are the defaults.\n\
             # trust.thresholds: a subject's score is trusted endorsement mass minus trusted,\n\
             # decayed report mass; at or below `block` it is blocked, at or below `suspect`\n\
             # suspect, at or above `allow` allowed, otherwise neutral.\n\
             # [policy] is the Postfix policy server (check_policy_service inet:127.0.0.1:10040),\n\
             # [dnsbl] the DNS block/allow list zones; [mta] how raw messages handed over\n\
             # as evidence are read (own_networks, own_hosts); see docs/mta.md.\n\
             # [p2p] the network: set `listen` to a reachable address and `bootstrap` to a\n\
             # peer's multiaddr to join one; see the README.\n\n{body}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_default_file_parses_back_to_the_defaults() {
        let parsed = Config::parse(&Config::default_toml()).expect("default file parses");
        assert_eq!(parsed.api.listen, Config::default().api.listen);
        assert_eq!(
            parsed.trust.thresholds.block,
            Config::default().trust.thresholds.block
        );
    }

    #[test]
    fn an_empty_file_is_all_defaults_and_listens_on_loopback() {
        let config = Config::parse("").expect("empty parses");
        assert!(config.api.listen.ip().is_loopback());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let unknown =
            Config::parse("[api]\nlisten_on = \"127.0.0.1:1\"\n").expect_err("unknown key");
        assert!(unknown.to_string().contains("listen_on"), "{unknown}");
        let bad_addr = Config::parse("[api]\nlisten = \"nowhere\"\n").expect_err("bad address");
        assert!(bad_addr.to_string().contains("listen"), "{bad_addr}");
        let thresholds =
            Config::parse("[trust.thresholds]\nblock = 1.0\n").expect_err("bad thresholds");
        assert!(
            thresholds.to_string().contains("block < suspect < allow"),
            "{thresholds}"
        );
        let batch = Config::parse("[api]\nmax_batch = 0\n").expect_err("zero batch");
        assert!(batch.to_string().contains("api.max_batch"), "{batch}");
    }

    #[test]
    fn mta_defaults_listen_on_loopback_and_never_reject_unknown_senders() {
        let config = Config::parse("").expect("empty parses");
        assert_eq!(
            config.policy.listen,
            "127.0.0.1:10040".parse().expect("addr")
        );
        assert_eq!(config.dnsbl.listen, "127.0.0.1:5300".parse().expect("addr"));
        assert_eq!(config.policy.on_block, PolicyAction::Reject);
        assert_eq!(config.policy.on_neutral, PolicyAction::Prepend);
        assert_eq!(config.dnsbl.block_zone, "bl.vouch.local");
    }

    #[test]
    fn bad_mta_settings_are_named() {
        for (text, named) in [
            ("[policy]\non_neutral = \"reject\"\n", "policy.on_neutral"),
            ("[policy]\non_suspect = \"reject\"\n", "policy.on_suspect"),
            ("[policy]\nreject_code = 450\n", "policy.reject_code"),
            (
                "[policy]\nreject_status = \"4.7.1\"\n",
                "policy.reject_status",
            ),
            ("[policy]\nheader = \"X Vouch\"\n", "policy.header"),
            ("[policy]\nmax_line_bytes = 10\n", "policy.max_line_bytes"),
            ("[dnsbl]\nblock_zone = \"BL..x\"\n", "dnsbl.block_zone"),
            ("[dnsbl]\nallow_zone = \"bl.vouch.local\"\n", "overlap"),
            ("[dnsbl]\nallow_zone = \"x.bl.vouch.local\"\n", "overlap"),
            ("[dnsbl]\nttl_secs = 100000\n", "dnsbl.ttl_secs"),
        ] {
            let error = Config::parse(text).expect_err(text);
            assert!(error.to_string().contains(named), "{text}: {error}");
        }
        assert!(Config::parse("[policy]\non_block = \"defer_if_permit\"\n").is_ok());
    }

    #[test]
    fn p2p_defaults_listen_on_loopback_and_bad_addresses_are_named() {
        let config = Config::parse("").expect("empty parses");
        assert_eq!(
            config.p2p.listen,
            vec!["/ip4/127.0.0.1/tcp/7702".to_string()]
        );
        assert!(!config.p2p.mdns);
        for (text, named) in [
            ("[p2p]\nbootstrap = [\"10.0.0.1:7702\"]\n", "p2p.bootstrap"),
            ("[p2p]\nlisten = [\"tcp/1\"]\n", "p2p.listen"),
            ("[p2p]\nlisten = []\n", "p2p.listen"),
            ("[p2p]\nmessages_per_sec = 0\n", "p2p.messages_per_sec"),
            (
                "[p2p]\nsync_page_statements = 5000\n",
                "p2p.sync_page_statements",
            ),
        ] {
            let error = Config::parse(text).expect_err(text);
            assert!(error.to_string().contains(named), "{text}: {error}");
        }
    }
}
