//! Operators known by their mail domains. An operator publishes its node
//! key in a TXT record at `_vouch.<domain>` (`vouch id --dns`) and claims
//! the domain in the network with an `operator` endorsement of it; others
//! vouch for the domain by name (pinned to the key, re-checked daily) and
//! see "reported by mail.example.org (verified)" instead of a key.

mod book;
mod record;
mod resolve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vouch_protocol::{Claim, EndorseCategory, Kind, NodeKey, Subject};

pub use book::{Name, NameBook, Pin, PinState, Proof};
pub use record::{LABEL, NameRecord, render as render_record};
pub use resolve::{LookupError, NameResolver, canonical_domain};

use crate::clock::unix_now;
use crate::store::Store;

/// `[names]`: how names are looked up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A DNS server to ask instead of the system's resolver (e.g. a local
    /// validating resolver), as `address:port`.
    pub resolver: Option<SocketAddr>,
    /// Lookup deadline, in milliseconds.
    pub timeout_ms: u64,
    /// Hours between checks of each pinned or claimed name.
    pub recheck_hours: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            resolver: None,
            timeout_ms: 3000,
            recheck_hours: 24,
        }
    }
}

impl Config {
    /// Checks the settings make sense; the error names the setting.
    pub fn check(&self) -> Result<(), crate::config::SettingError> {
        if self.timeout_ms == 0 || self.recheck_hours == 0 {
            return Err(crate::config::SettingError::range(
                "names.timeout_ms and names.recheck_hours",
                "be at least 1",
            ));
        }
        Ok(())
    }
}

/// Most claims checked in one round.
const CLAIMS_PER_ROUND: usize = 16;

/// The book, the resolver, and where pins are saved.
pub struct Names {
    /// What is known of names; read by lookups and listings.
    pub book: Arc<NameBook>,
    resolver: NameResolver,
    store: Arc<Store>,
    recheck_secs: u64,
}

impl Names {
    /// Loads the saved pins; an unreadable file is logged and skipped.
    pub fn open(config: &Config, store: Arc<Store>) -> Names {
        let pins = match store.name_pins() {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(%error, "name pins unreadable; starting without them");
                Vec::new()
            }),
            Ok(None) => Vec::new(),
            Err(error) => {
                tracing::warn!(%error, "cannot read the name pins");
                Vec::new()
            }
        };
        Names {
            book: Arc::new(NameBook::with_pins(pins)),
            resolver: NameResolver::new(config.resolver, Duration::from_millis(config.timeout_ms)),
            store,
            recheck_secs: config.recheck_hours.saturating_mul(3600),
        }
    }

    /// Looks `domain` up and pins it to the key its record names.
    pub async fn pin(&self, domain: &str) -> Result<(String, NameRecord), LookupError> {
        let domain = canonical_domain(domain)?;
        let record = self.resolver.lookup(&domain).await?;
        self.book.set_pin(Pin {
            domain: domain.clone(),
            key: record.key.to_string(),
            addr: record.addr.as_ref().map(ToString::to_string),
            checked_at: unix_now(),
            state: PinState::Verified,
        });
        self.save().await;
        Ok((domain, record))
    }

    /// Checks every pin due at `now`; a changed or vanished record is
    /// logged and kept in the pin's state, never followed.
    pub async fn recheck_pins(&self, now: u64) {
        let due: Vec<Pin> = self
            .book
            .pins()
            .into_iter()
            .filter(|p| p.checked_at.saturating_add(self.recheck_secs) <= now)
            .collect();
        if due.is_empty() {
            return;
        }
        for mut pin in due {
            pin.state = match self.resolver.lookup(&pin.domain).await {
                Ok(record) if record.key.to_string() == pin.key => PinState::Verified,
                Ok(record) => PinState::Changed {
                    now: record.key.to_string(),
                },
                Err(LookupError::Missing(_)) => PinState::Missing,
                Err(error) => PinState::Failing {
                    reason: error.to_string(),
                },
            };
            if pin.state != PinState::Verified {
                tracing::warn!(domain = %pin.domain, pinned = %pin.key, state = ?pin.state,
                    "a pinned name's record no longer names the key vouched for; the vouch stands on the pinned key");
            }
            pin.checked_at = now;
            self.book.set_pin(pin);
        }
        self.save().await;
    }

    /// Checks the names claimed by keys that were shown unnamed, and
    /// claims due again: a claim is an `operator` endorsement of a domain
    /// by the key, verified when the domain's record names the same key.
    pub async fn check_claims(&self, now: u64) {
        let mut keys = self.book.take_wanted(CLAIMS_PER_ROUND);
        keys.extend(
            self.book
                .stale_claims(now.saturating_sub(self.recheck_secs))
                .into_iter()
                .take(CLAIMS_PER_ROUND),
        );
        for key in keys {
            let store = self.store.clone();
            let claimed = tokio::task::spawn_blocking(move || claimed_domain(&store, &key, now))
                .await
                .ok()
                .flatten();
            let name = match claimed {
                None => None,
                Some(domain) => {
                    let proof = match self.resolver.lookup(&domain).await {
                        Ok(record) if record.key == key => Proof::Verified,
                        Ok(_) => Proof::Mismatch,
                        Err(_) => Proof::Unverified,
                    };
                    Some(Name { domain, proof })
                }
            };
            self.book.set_claim(key, name, now);
        }
    }

    /// Rechecks pins and claims until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = unix_now();
            self.check_claims(now).await;
            self.recheck_pins(now).await;
        }
    }

    async fn save(&self) {
        // Serialising plain strings cannot fail.
        let bytes = serde_json::to_vec(&self.book.pins()).unwrap_or_default();
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.set_name_pins(&bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "saving the name pins failed"),
            Err(error) => tracing::error!(%error, "saving the name pins failed"),
        }
    }
}

/// The record this node publishes: its key, and the first of its external
/// addresses (with its peer id) when it has one; says whether it did.
pub fn own_record(key: &NodeKey, external: &[String]) -> (String, bool) {
    let addr = crate::p2p::identity::peer_id(key).and_then(|peer| {
        let addr = external.first()?.parse::<libp2p::Multiaddr>().ok()?;
        Some(match crate::p2p::identity::peer_of(&addr) {
            Some(_) => addr,
            None => addr.with(libp2p::multiaddr::Protocol::P2p(peer)),
        })
    });
    (render_record(key, addr.as_ref()), addr.is_some())
}

/// The domain `key` claims: its live `operator` endorsement of a domain.
fn claimed_domain(store: &Store, key: &NodeKey, now: u64) -> Option<String> {
    let endorsements = store.by_author(key, Some(Kind::Endorse)).ok()?;
    endorsements.into_iter().find_map(|stored| {
        let body = stored.statement.body;
        match (body.subject, body.claim) {
            (
                Subject::Domain(domain),
                Claim::Endorse {
                    category: EndorseCategory::Operator,
                },
            ) if body.expires_at > now => Some(domain),
            _ => None,
        }
    })
}

#[cfg(test)]
pub(crate) mod test_dns;
#[cfg(test)]
mod tests;
