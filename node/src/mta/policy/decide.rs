//! From the request's subjects and their reputations to one `action=` line.

use vouch_protocol::Subject;

use super::protocol::Request;
use super::{PolicyAction, PolicyConfig};
use crate::mta::reason;
use crate::trust::{Reputation, Verdict};

/// Which part of the SMTP session a subject came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `client_address`: the connecting host.
    Client,
    /// The domain of `sender` (the envelope sender).
    SenderDomain,
    /// `helo_name`, when it is a domain.
    HeloName,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Client => "client",
            Source::SenderDomain => "sender domain",
            Source::HeloName => "HELO name",
        }
    }
}

/// The subjects a request asks about, the client first. Values that are not
/// an address (client) or a domain (sender, HELO) are skipped, not errors:
/// Postfix sends `unknown`, empty senders and address literals as they come.
pub fn subjects(request: &Request, config: &PolicyConfig) -> Vec<(Source, Subject)> {
    let mut found = Vec::new();
    if let Some(Ok(subject @ Subject::Ip(_))) = request.get("client_address").map(str::parse) {
        found.push((Source::Client, subject));
    }
    if config.check_sender_domain
        && let Some((_, domain)) = request.get("sender").and_then(|s| s.rsplit_once('@'))
        && let Ok(subject @ Subject::Domain(_)) = domain.parse()
    {
        found.push((Source::SenderDomain, subject));
    }
    if config.check_helo_name
        && let Some(Ok(subject @ Subject::Domain(_))) = request.get("helo_name").map(str::parse)
    {
        found.push((Source::HeloName, subject));
    }
    found
}

fn severity(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Allow => 0,
        Verdict::Neutral => 1,
        Verdict::Suspect => 2,
        Verdict::Block => 3,
    }
}

/// What to answer: the action taken and the full `action=` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The kind of action (for metrics and PREPEND de-duplication).
    pub action: PolicyAction,
    /// The text after `action=`.
    pub text: String,
}

impl Answer {
    /// No opinion.
    pub fn dunno() -> Answer {
        Answer {
            action: PolicyAction::Dunno,
            text: "DUNNO".into(),
        }
    }
}

/// Decides on the most severe verdict among `judged` (the client wins ties).
pub fn decide(config: &PolicyConfig, judged: &[(Source, Reputation)]) -> Answer {
    let mut worst: Option<&(Source, Reputation)> = None;
    for entry in judged {
        if worst.is_none_or(|w| severity(entry.1.verdict) > severity(w.1.verdict)) {
            worst = Some(entry);
        }
    }
    let Some((source, reputation)) = worst else {
        return Answer::dunno();
    };
    let action = match reputation.verdict {
        Verdict::Block => config.on_block,
        Verdict::Suspect => config.on_suspect,
        Verdict::Neutral => config.on_neutral,
        Verdict::Allow => config.on_allow,
    };
    let why = || {
        format!(
            "Vouch: {} {} {}",
            source.as_str(),
            reputation.subject,
            reason(reputation)
        )
    };
    let text = match action {
        PolicyAction::Reject => {
            format!("{} {} {}", config.reject_code, config.reject_status, why())
        }
        PolicyAction::DeferIfPermit => {
            format!("DEFER_IF_PERMIT {} {}", config.defer_status, why())
        }
        PolicyAction::Prepend => format!(
            "PREPEND {}: verdict={}; score={:.3}; confidence={:.2}; subject={}",
            config.header,
            reputation.verdict.as_str(),
            // No "-0.000" in headers.
            reputation.score + 0.0,
            reputation.confidence,
            reason::printable(&reputation.subject.to_string(), 253)
        ),
        PolicyAction::Dunno => "DUNNO".into(),
    };
    Answer { action, text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::reputation;

    fn request(lines: &[(&str, &str)]) -> Request {
        let mut text = String::new();
        for (k, v) in lines {
            text.push_str(&format!("{k}={v}\n"));
        }
        text.push('\n');
        let mut reader = text.as_bytes();
        parse_blocking(&mut reader)
    }

    fn parse_blocking(reader: &mut &[u8]) -> Request {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(super::super::protocol::read_request(reader, 1024, 4096))
            .expect("parses")
            .expect("request")
    }

    #[test]
    fn subjects_are_the_client_and_only_the_configured_others() {
        let r = request(&[
            ("client_address", "2001:db8::1"),
            ("sender", "someone@Example.ORG"),
            ("helo_name", "mail.example.net"),
        ]);
        let mut config = PolicyConfig::default();
        assert_eq!(subjects(&r, &config).len(), 1);
        config.check_sender_domain = true;
        config.check_helo_name = true;
        let found = subjects(&r, &config);
        assert_eq!(
            found[0],
            (Source::Client, "2001:db8::1".parse().expect("ip"))
        );
        assert_eq!(
            found[1],
            (Source::SenderDomain, "example.org".parse().expect("domain"))
        );
        assert_eq!(
            found[2],
            (
                Source::HeloName,
                "mail.example.net".parse().expect("domain")
            )
        );
        let odd = request(&[
            ("client_address", "unknown"),
            ("sender", ""),
            ("helo_name", "[192.0.2.1]"),
        ]);
        assert!(subjects(&odd, &config).is_empty());
    }

    #[test]
    fn the_worst_verdict_decides_and_each_verdict_maps_to_its_action() {
        let config = PolicyConfig::default();
        let judged = vec![
            (Source::Client, reputation("192.0.2.1", Verdict::Allow, 1.0)),
            (
                Source::SenderDomain,
                reputation("spam.example", Verdict::Block, -2.0),
            ),
        ];
        let answer = decide(&config, &judged);
        assert_eq!(answer.action, PolicyAction::Reject);
        assert!(
            answer
                .text
                .starts_with("554 5.7.1 Vouch: sender domain spam.example "),
            "{}",
            answer.text
        );
        assert!(
            answer
                .text
                .ends_with("see vouch query spam.example --explain")
        );
        let neutral = decide(&config, &judged[..1]);
        assert_eq!(
            neutral.text,
            "PREPEND X-Vouch: verdict=allow; score=1.000; confidence=0.50; subject=192.0.2.1"
        );
        let suspect = PolicyConfig {
            on_suspect: PolicyAction::DeferIfPermit,
            ..PolicyConfig::default()
        };
        let answer = decide(
            &suspect,
            &[(
                Source::Client,
                reputation("192.0.2.1", Verdict::Suspect, -0.2),
            )],
        );
        assert!(
            answer
                .text
                .starts_with("DEFER_IF_PERMIT 4.7.1 Vouch: client 192.0.2.1 "),
            "{}",
            answer.text
        );
        assert_eq!(decide(&config, &[]), Answer::dunno());
    }
}
