//! The answer about a sender nothing the node holds bears on (most of what
//! a mail server asks about), made once. Scoring no evidence gives the
//! same answer whatever the subject, the trust map or the time, all but
//! the subject; so its JSON is kept as what follows the subject, and an
//! HTTP answer is the subject written in front of it (scoring nothing and
//! writing the answer out cost a third of such a lookup's instructions).

use std::net::Ipv4Addr;

use bytes::Bytes;
use vouch_protocol::Subject;

use super::{Standing, json};
use crate::trust::{Config, SubjectEvidence, TrustMap, reputation};

/// How every answer's JSON begins: the subject is its first field.
const HEAD: &[u8] = b"{\"subject\":";

/// Most bytes a subject takes in JSON (a domain of 253 characters, quoted).
const SUBJECT_BYTES: usize = 256;

/// Where a sender nothing bears on stands, and its answer's JSON.
#[derive(Debug)]
pub struct UnheardOf {
    /// Where it stands (all a DNS list's A record carries).
    pub standing: Standing,
    /// The JSON after the subject (`,"score":0.0,…}`); `None` if the
    /// answer does not begin with its subject, and is written in full.
    tail: Option<Bytes>,
}

impl UnheardOf {
    /// What scoring no evidence gives under `config`.
    pub fn new(config: &Config) -> Self {
        let placeholder = Subject::Ip(Ipv4Addr::UNSPECIFIED.into());
        let answer = reputation(
            &placeholder,
            &SubjectEvidence::default(),
            &TrustMap::default(),
            0,
            config,
        );
        let tail = json(&answer).ok().and_then(|written| {
            let head = subject_json(&placeholder, 0)?;
            written
                .starts_with(&head[..])
                .then(|| written.slice(head.len()..))
        });
        UnheardOf {
            standing: Standing::of(&answer),
            tail,
        }
    }

    /// The JSON of the answer about `subject`, if nothing bears on it.
    pub fn json(&self, subject: &Subject) -> Option<Bytes> {
        let tail = self.tail.as_ref()?;
        let mut body = subject_json(subject, tail.len())?;
        body.extend_from_slice(tail);
        Some(Bytes::from(body))
    }
}

/// `{"subject":"…"` as an answer's JSON begins, with room for `rest`
/// bytes more.
fn subject_json(subject: &Subject, rest: usize) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(HEAD.len() + SUBJECT_BYTES + rest);
    body.extend_from_slice(HEAD);
    serde_json::to_writer(&mut body, &format_args!("{subject}")).ok()?;
    Some(body)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;
    use vouch_protocol::Subject;

    use super::UnheardOf;
    use crate::lookup::{Standing, json};
    use crate::trust::{Config, SubjectEvidence, TrustMap, reputation};

    fn subject() -> impl Strategy<Value = Subject> {
        prop_oneof![
            any::<u32>().prop_map(|ip| Subject::Ip(Ipv4Addr::from(ip).into())),
            any::<u128>().prop_map(|ip| Subject::Ip(Ipv6Addr::from(ip).into())),
            (any::<u32>(), 8u8..=32).prop_map(|(ip, prefix)| {
                format!(
                    "{}/{prefix}",
                    Ipv4Addr::from(ip & (u32::MAX << (32 - prefix)))
                )
                .parse()
                .expect("netblock")
            }),
            "[a-z][a-z0-9]{0,15}(-[a-z0-9]{1,8})?(\\.[a-z][a-z0-9]{0,15}(-[a-z0-9]{1,8})?){1,3}"
                .prop_map(|name| name.parse().expect("domain")),
        ]
    }

    proptest! {
        /// The answer written from the kept tail is the answer scored
        /// and written in full, whatever the subject and the time.
        #[test]
        fn the_written_answer_is_the_scored_one(subject in subject(), now in 0u64..4_000_000_000) {
            let config = Config::default();
            let unheard_of = UnheardOf::new(&config);
            let scored = reputation(&subject, &SubjectEvidence::default(), &TrustMap::default(), now, &config);
            let written = unheard_of.json(&subject).expect("a tail");
            prop_assert_eq!(&written[..], &json(&scored).expect("json")[..]);
            prop_assert_eq!(unheard_of.standing, Standing::of(&scored));
        }
    }
}
