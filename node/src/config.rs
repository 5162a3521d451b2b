//! Node configuration: a TOML file in the data directory, every field with a
//! documented default so an empty file (or none) is a working node.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::trust;

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
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7701)),
            max_batch: 1000,
            max_body_bytes: 64 * 1024,
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
    /// The file is not valid TOML for this schema.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said, including line and column.
        source: Box<toml::de::Error>,
    },
    /// A value parses but makes no sense.
    #[error("invalid config {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Which setting and why.
        reason: String,
    },
}

impl Config {
    /// Reads a config file; a missing file means all defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                source,
            },
            ConfigError::Invalid { reason, .. } => ConfigError::Invalid {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })
    }

    /// Parses and checks config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: String::new(),
            source: Box::new(source),
        })?;
        config.check().map_err(|reason| ConfigError::Invalid {
            path: String::new(),
            reason,
        })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.api.max_batch == 0 {
            return Err("api.max_batch must be at least 1".into());
        }
        if self.api.max_body_bytes < 1024 {
            return Err("api.max_body_bytes must be at least 1024".into());
        }
        if self.store.sweep_interval_secs == 0 {
            return Err("store.sweep_interval_secs must be at least 1".into());
        }
        self.trust.check()
    }

    /// The default configuration as commented TOML, written by `vouch init`.
    pub fn default_toml() -> String {
        let body = toml::to_string_pretty(&Config::default()).unwrap_or_default();
        format!(
            "# Vouch node configuration. Every setting is optional; these are the defaults.\n\
             # trust.thresholds: a subject's score is trusted endorsement mass minus trusted,\n\
             # decayed report mass; at or below `block` it is blocked, at or below `suspect`\n\
             # suspect, at or above `allow` allowed, otherwise neutral.\n\n{body}"
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
}
