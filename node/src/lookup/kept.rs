//! A whole answer kept for the next seconds (see [`super::recent`]) and
//! shared by every lookup that gives it again: its authors are named once,
//! when it is kept, and its JSON is written once, by the first HTTP lookup
//! to give it again (most answers kept are never given again, and keep no
//! JSON). Answering a sender asked about over and over is then a copy of
//! a pointer, where cloning, naming and writing out an explained answer
//! of 2 KB cost two thirds of the lookup.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::trust::Reputation;

/// Bytes of an answer without its explanation (an unknown sender's is
/// about 260).
const BASE_BYTES: usize = 320;

/// Bytes of one explained statement (about 370 with an IPv4 subject).
const ITEM_BYTES: usize = 400;

/// A kept answer, its explanation's authors named.
#[derive(Debug)]
pub struct KeptAnswer {
    reputation: Reputation,
    json: OnceLock<Bytes>,
}

impl KeptAnswer {
    /// Keeps `reputation`, already named.
    pub fn new(reputation: Reputation) -> Self {
        KeptAnswer {
            reputation,
            json: OnceLock::new(),
        }
    }

    /// The answer.
    pub fn reputation(&self) -> &Reputation {
        &self.reputation
    }

    /// The answer as JSON (see [`json`]), written the first time it is
    /// asked for.
    pub fn json(&self) -> Result<Bytes, serde_json::Error> {
        if let Some(json) = self.json.get() {
            return Ok(json.clone());
        }
        let json = json(&self.reputation)?;
        Ok(self.json.get_or_init(|| json).clone())
    }
}

/// `reputation` as the HTTP API's JSON body, written into one buffer
/// sized for it (serde_json's writer starts at 128 bytes and would grow
/// its buffer four or five times for an explained answer of 2 KB).
pub fn json(reputation: &Reputation) -> Result<Bytes, serde_json::Error> {
    let items = reputation.explanation.len();
    let mut body = Vec::with_capacity(BASE_BYTES + ITEM_BYTES * items);
    serde_json::to_writer(&mut body, reputation)?;
    Ok(Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use vouch_protocol::Subject;

    use super::{KeptAnswer, json};
    use crate::trust::{Config, SubjectEvidence, TrustMap, reputation};

    #[test]
    fn a_kept_answer_is_written_once_as_the_answer_itself_would_be() {
        let subject: Subject = "203.0.113.9".parse().expect("ip");
        let answer = reputation(
            &subject,
            &SubjectEvidence::default(),
            &TrustMap::default(),
            1_000_000,
            &Config::default(),
        );
        let expected = serde_json::to_vec(&answer).expect("json");
        let kept = KeptAnswer::new(answer);
        let first = kept.json().expect("json");
        assert_eq!(&first[..], &expected[..]);
        assert_eq!(json(kept.reputation()).expect("json"), first);
        let again = kept.json().expect("json");
        assert_eq!(again.as_ptr(), first.as_ptr(), "written once");
    }
}
