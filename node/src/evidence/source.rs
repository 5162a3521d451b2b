//! Where one of this node's reports came from, so its explanation can say
//! whether a person typed it or the mail stack sent it.

use serde::{Deserialize, Serialize};

/// The origin of a report this node made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Typed by the operator (`vouch report SUBJECT`, `POST /v1/report`).
    Cli,
    /// Read from a raw message handed over by the operator or a script.
    #[default]
    Message,
    /// A user moved the message into the Junk folder (IMAPSieve).
    Junk,
    /// rspamd rejected or marked the message as spam.
    Rspamd,
}

impl Source {
    /// Name in the API and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::Message => "message",
            Source::Junk => "junk",
            Source::Rspamd => "rspamd",
        }
    }

    /// One-byte tag for the store.
    pub fn tag(self) -> u8 {
        match self {
            Source::Cli => 1,
            Source::Message => 2,
            Source::Junk => 3,
            Source::Rspamd => 4,
        }
    }

    /// The inverse of [`Source::tag`].
    pub fn from_tag(tag: u8) -> Option<Source> {
        Some(match tag {
            1 => Source::Cli,
            2 => Source::Message,
            3 => Source::Junk,
            4 => Source::Rspamd,
            _ => return None,
        })
    }
}
