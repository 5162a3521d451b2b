//! Node configuration: a TOML file in the data directory, every field with a
//! documented default so an empty file (or none) is a working node.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::evidence::MessageConfig;
pub use crate::mta::policy::PolicyAction;
pub use crate::mta::{DnsblConfig, PolicyConfig};
pub use crate::names::Config as NamesConfig;
pub use crate::p2p::Config as P2pConfig;
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
    pub mta: MessageConfig,
    /// Looking up operators' names (`_vouch.<domain>` records).
    pub names: NamesConfig,
    /// The peer-to-peer network (libp2p).
    pub p2p: P2pConfig,
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

/// Whether `name` is a lower-case domain name: dot-separated labels of
/// letters, digits and hyphens, no trailing dot.
pub(crate) fn is_domain_name(zone: &str) -> bool {
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
