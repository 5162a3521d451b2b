//! The data directory: the node's key, API token, config and database.
//!
//! Secrets are written with mode 0600 and created exclusively, so `init`
//! never overwrites an existing identity.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use vouch_protocol::Keypair;

use crate::config::Config;

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// `init` found an existing node there.
    #[error("{0} already holds a Vouch node (found {1}); refusing to overwrite it")]
    AlreadyInitialised(String, &'static str),
    /// The directory has not been initialised.
    #[error("{0} is not a Vouch data directory (no node.key); run `vouch init` first")]
    NotInitialised(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A secret file does not hold what it should.
    #[error("{0} is malformed: expected {1}")]
    Malformed(String, &'static str),
    /// No source of randomness.
    #[error("cannot get random bytes: {0}")]
    Random(String),
}

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

const KEY_FILE: &str = "node.key";
const TOKEN_FILE: &str = "api.token";
const CONFIG_FILE: &str = "config.toml";
const DB_DIR: &str = "db";

impl DataDir {
    /// A data directory at `root` (nothing is touched yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The node's secret key (hex), mode 0600.
    pub fn key_path(&self) -> PathBuf {
        self.root.join(KEY_FILE)
    }

    /// The API bearer token, mode 0600.
    pub fn token_path(&self) -> PathBuf {
        self.root.join(TOKEN_FILE)
    }

    /// The TOML configuration.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// The RocksDB directory.
    pub fn db_path(&self) -> PathBuf {
        self.root.join(DB_DIR)
    }

    /// Whether `init` has run here.
    pub fn is_initialised(&self) -> bool {
        self.key_path().exists()
    }

    /// Creates the key, token and default config. Refuses if any exists.
    pub fn init(&self) -> Result<Keypair, DataDirError> {
        for (path, name) in [
            (self.key_path(), KEY_FILE),
            (self.token_path(), TOKEN_FILE),
            (self.config_path(), CONFIG_FILE),
        ] {
            if path.exists() {
                return Err(DataDirError::AlreadyInitialised(
                    self.root.display().to_string(),
                    name,
                ));
            }
        }
        std::fs::create_dir_all(&self.root).map_err(|source| self.io(&self.root, source))?;
        let keypair = Keypair::from_secret_bytes(random_bytes()?);
        let token = hex::encode(random_bytes()?);
        write_new(
            &self.key_path(),
            hex::encode(keypair.secret_bytes()).as_bytes(),
            0o600,
        )?;
        write_new(&self.token_path(), token.as_bytes(), 0o600)?;
        write_new(
            &self.config_path(),
            Config::default_toml().as_bytes(),
            0o644,
        )?;
        Ok(keypair)
    }

    /// Reads the node's key.
    pub fn keypair(&self) -> Result<Keypair, DataDirError> {
        let path = self.key_path();
        if !path.exists() {
            return Err(DataDirError::NotInitialised(
                self.root.display().to_string(),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|source| self.io(&path, source))?;
        let mut secret = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut secret)
            .map_err(|_| DataDirError::Malformed(path.display().to_string(), "64 hex digits"))?;
        Ok(Keypair::from_secret_bytes(secret))
    }

    /// Reads the API token.
    pub fn token(&self) -> Result<String, DataDirError> {
        let path = self.token_path();
        let text = std::fs::read_to_string(&path).map_err(|source| self.io(&path, source))?;
        let token = text.trim();
        if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DataDirError::Malformed(
                path.display().to_string(),
                "a hex token of at least 32 digits",
            ));
        }
        Ok(token.to_owned())
    }

    /// Reads the configuration (defaults when the file is absent).
    pub fn config(&self) -> Result<Config, crate::config::ConfigError> {
        Config::load(&self.config_path())
    }

    fn io(&self, path: &Path, source: std::io::Error) -> DataDirError {
        DataDirError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

fn random_bytes() -> Result<[u8; 32], DataDirError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DataDirError::Random(e.to_string()))?;
    Ok(bytes)
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), DataDirError> {
    let io = |source| DataDirError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}
