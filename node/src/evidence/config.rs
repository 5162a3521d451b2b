//! Settings for reading raw messages as evidence (the `[mta]` table).

use serde::{Deserialize, Serialize};

use crate::config::{SettingError, is_domain_name};

/// Reading raw messages as evidence (`vouch report --message`,
/// `POST /v1/report/message`, the Junk-folder and rspamd recipes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessageConfig {
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

impl Default for MessageConfig {
    fn default() -> Self {
        MessageConfig {
            own_networks: Vec::new(),
            own_hosts: Vec::new(),
            max_reports_per_hour: 120,
            max_message_bytes: 32 << 20,
            report_names: true,
        }
    }
}

impl MessageConfig {
    pub(crate) fn check(&self) -> Result<(), SettingError> {
        if self.max_message_bytes < 1024 {
            return Err(SettingError::range(
                "mta.max_message_bytes",
                "be at least 1024",
            ));
        }
        if let Some(bad) = self
            .own_hosts
            .iter()
            .find(|h| !is_domain_name(&h.to_ascii_lowercase()))
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
