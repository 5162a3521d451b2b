//! Looking up `_vouch.<domain>` with the system's resolver (or the one
//! `[names] resolver` names), bounded by a timeout. hickory-resolver does
//! not validate DNSSEC in this build, so answers are as trustworthy as the
//! resolver that gives them: point it at a validating one.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use vouch_protocol::Subject;

use super::record::{self, LABEL, NameRecord, RecordError};

/// Why a name could not be resolved to a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The text is not a domain name.
    #[error("{0:?} is not a domain name")]
    BadDomain(String),
    /// No resolver could be set up (no usable /etc/resolv.conf).
    #[error("no DNS resolver: {0}")]
    NoResolver(String),
    /// The name has no Vouch record.
    #[error("no Vouch record at {0} (publish the one `vouch id --dns DOMAIN` prints)")]
    Missing(String),
    /// A Vouch record that does not parse.
    #[error("the Vouch record at {name} does not parse: {error}")]
    Malformed {
        /// The record's name.
        name: String,
        /// What is wrong with it.
        error: RecordError,
    },
    /// Several Vouch records naming different keys.
    #[error("{0} has Vouch records naming different keys")]
    Ambiguous(String),
    /// The lookup failed or timed out.
    #[error("looking up {name} failed: {reason}")]
    Failed {
        /// The record's name.
        name: String,
        /// What the resolver said.
        reason: String,
    },
}

/// Resolves operators' names to their records.
pub struct NameResolver {
    resolver: Result<TokioResolver, String>,
    timeout: Duration,
}

impl NameResolver {
    /// The system's resolver, or the one at `server`, with `timeout` per lookup.
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> NameResolver {
        let mut options = ResolverOpts::default();
        options.timeout = timeout;
        options.attempts = 1;
        options.cache_size = 0;
        options.use_hosts_file = ResolveHosts::Never;
        let builder = match server {
            Some(addr) => {
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
                Ok(TokioResolver::builder_with_config(
                    config,
                    TokioConnectionProvider::default(),
                ))
            }
            None => TokioResolver::builder_tokio().map_err(|e| e.to_string()),
        };
        NameResolver {
            resolver: builder.map(|b| b.with_options(options).build()),
            timeout,
        }
    }

    /// The record at `_vouch.<domain>`.
    pub async fn lookup(&self, domain: &str) -> Result<NameRecord, LookupError> {
        let domain = canonical_domain(domain)?;
        let name = format!("{LABEL}.{domain}.");
        let resolver = self
            .resolver
            .as_ref()
            .map_err(|e| LookupError::NoResolver(e.clone()))?;
        let failed = |reason: String| LookupError::Failed {
            name: name.clone(),
            reason,
        };
        let answer = tokio::time::timeout(self.timeout, resolver.txt_lookup(name.as_str()))
            .await
            .map_err(|_| failed(format!("no answer within {:?}", self.timeout)))?;
        let txt = match answer {
            Ok(txt) => txt,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                return Err(LookupError::Missing(name));
            }
            Err(e) => return Err(failed(e.to_string())),
        };
        let mut found: Option<NameRecord> = None;
        let mut broken = None;
        for data in txt.iter() {
            let text: String = data
                .txt_data()
                .iter()
                .map(|part| String::from_utf8_lossy(part))
                .collect();
            match record::parse(&text) {
                Ok(record) => match &found {
                    Some(known) if known.key != record.key => {
                        return Err(LookupError::Ambiguous(name));
                    }
                    _ => found = Some(record),
                },
                Err(RecordError::NotVouch) => {}
                Err(error) => broken = Some(error),
            }
        }
        match (found, broken) {
            (Some(record), _) => Ok(record),
            (None, Some(error)) => Err(LookupError::Malformed { name, error }),
            (None, None) => Err(LookupError::Missing(name)),
        }
    }
}

/// A domain in canonical form (lower case, no trailing dot), or why not.
pub fn canonical_domain(text: &str) -> Result<String, LookupError> {
    match text.trim().trim_end_matches('.').parse::<Subject>() {
        Ok(Subject::Domain(domain)) if domain.contains('.') => Ok(domain),
        _ => Err(LookupError::BadDomain(text.into())),
    }
}
