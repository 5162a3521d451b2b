//! One line that says why a sender got its verdict, for SMTP replies and
//! DNS TXT records: "reported by 3 trusted operators in the last 48h (spam);
//! see vouch query 203.0.113.9 --explain".

use vouch_protocol::{Kind, NodeKey};

use crate::trust::{Category, Contribution, Reputation, Signal, Verdict};

/// Longest reason; fits an SMTP reply line and a single TXT string.
const MAX_REASON: usize = 200;

/// The reason for `reputation`'s verdict, printable ASCII, at most 200 bytes.
pub fn reason(reputation: &Reputation) -> String {
    let truncated = reputation.statements > reputation.explanation.len();
    let at_least = |n: usize| {
        let who = if n == 1 { "operator" } else { "operators" };
        if truncated {
            format!("at least {n} trusted {who}")
        } else {
            format!("{n} trusted {who}")
        }
    };
    let reports: Vec<&Contribution> = exact(reputation, Kind::Report).collect();
    let endorsements: Vec<&Contribution> = exact(reputation, Kind::Endorse).collect();
    let mut parts = Vec::new();
    match reputation.verdict {
        Verdict::Block | Verdict::Suspect => {
            if !reports.is_empty() {
                parts.push(format!(
                    "reported by {}{} in the last {}h ({})",
                    at_least(authors(&reports)),
                    verified_names(&reports),
                    window_hours(&reports),
                    categories(&reports)
                ));
            }
            if reputation.netblock > 0.0 {
                let prefix = reputation
                    .subject
                    .covering_netblock()
                    .map_or_else(|| "netblock".into(), |net| net.to_string());
                parts.push(format!(
                    "has {} reported neighbours in {prefix}",
                    reputation.netblock_reported_ips
                ));
            }
        }
        Verdict::Allow => {
            if !endorsements.is_empty() {
                parts.push(format!(
                    "endorsed by {}{}",
                    at_least(authors(&endorsements)),
                    verified_names(&endorsements)
                ));
            }
        }
        Verdict::Neutral => {
            if reputation.statements == 0 {
                parts.push("no trusted reports or endorsements".into());
            }
        }
    }
    if parts.is_empty() {
        parts.push(format!("score {:.2}", reputation.score));
    }
    let text = format!(
        "{}; see vouch query {} --explain",
        parts.join("; "),
        reputation.subject
    );
    printable(&text, MAX_REASON)
}

/// Hours covered by `contributions`, rounded up: the age of the oldest.
fn window_hours(contributions: &[&Contribution]) -> u64 {
    let oldest = contributions.iter().map(|c| c.age_secs).max().unwrap_or(0);
    oldest.div_ceil(3600).max(1)
}

fn exact(reputation: &Reputation, kind: Kind) -> impl Iterator<Item = &Contribution> {
    reputation
        .explanation
        .iter()
        .filter(move |c| c.kind == kind && c.signal == Signal::Exact)
}

fn authors(contributions: &[&Contribution]) -> usize {
    let mut seen: Vec<&NodeKey> = contributions.iter().map(|c| &c.author).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// " (a.example, b.example)": the verified domains of the first two
/// authors that have one, or nothing.
fn verified_names(contributions: &[&Contribution]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for c in contributions {
        let Some(domain) = c
            .author_name
            .as_deref()
            .and_then(|n| n.strip_suffix(" (verified)"))
        else {
            continue;
        };
        if !names.contains(&domain) && names.len() < 2 {
            names.push(domain);
        }
    }
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}

/// "spam, phishing": the report categories, in order of weight, without counts.
fn categories(contributions: &[&Contribution]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for c in contributions {
        if let Category::Report { category, .. } = c.category
            && !names.contains(&category.as_str())
        {
            names.push(category.as_str());
        }
    }
    names.join(", ")
}

/// Printable ASCII only (anything else becomes `?`), at most `max` bytes.
pub(crate) fn printable(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use vouch_protocol::ReportCategory;

    use super::*;
    use crate::test_support;

    /// A report of `count` messages of `category` by `author`.
    fn contribution(
        author: &str,
        category: ReportCategory,
        count: u32,
        age_secs: u64,
    ) -> Contribution {
        Contribution {
            id: vouch_protocol::StatementId([0; 32]),
            // One key per author letter.
            author: NodeKey([author.as_bytes()[0]; 32]),
            author_trust: 1.0,
            kind: Kind::Report,
            category: Category::Report {
                category,
                count,
                via: None,
            },
            subject: "203.0.113.9".parse().expect("subject"),
            signal: Signal::Exact,
            age_secs,
            decay: 1.0,
            fresh: false,
            weight: -1.0,
            source: None,
            author_name: None,
        }
    }

    fn reputation(verdict: Verdict, explanation: Vec<Contribution>) -> Reputation {
        Reputation {
            statements: explanation.len(),
            explanation,
            ..test_support::reputation("203.0.113.9", verdict, -2.0)
        }
    }

    #[test]
    fn operators_with_a_verified_domain_are_named_and_others_are_not() {
        let named = |name: &str| {
            let mut c = contribution("a", ReportCategory::Spam, 1, 60);
            c.author_name = Some(name.into());
            c
        };
        let r = reputation(
            Verdict::Block,
            vec![
                named("mail.alice.example (verified)"),
                {
                    let mut c = named("bob.example (MISMATCH)");
                    c.author = NodeKey([b'b'; 32]);
                    c
                },
                contribution("c", ReportCategory::Spam, 1, 60),
            ],
        );
        let text = reason(&r);
        assert!(
            text.starts_with("reported by 3 trusted operators (mail.alice.example) in the last 1h"),
            "{text}"
        );
        assert!(!text.contains("bob.example"), "{text}");
    }

    #[test]
    fn a_block_names_the_reporters_the_window_and_the_categories() {
        let r = reputation(
            Verdict::Block,
            vec![
                contribution("a", ReportCategory::Spam, 3, 3_600 * 47 + 5),
                contribution("b", ReportCategory::Phishing, 1, 60),
                contribution("c", ReportCategory::Spam, 1, 60),
                contribution("c", ReportCategory::Spam, 1, 60),
            ],
        );
        assert_eq!(
            reason(&r),
            "reported by 3 trusted operators in the last 48h (spam, phishing); \
             see vouch query 203.0.113.9 --explain"
        );
    }

    #[test]
    fn a_truncated_explanation_says_at_least_and_netblocks_are_named() {
        let mut r = reputation(
            Verdict::Suspect,
            vec![contribution("a", ReportCategory::Spam, 1, 10)],
        );
        r.statements = 7;
        r.netblock = 0.3;
        r.netblock_reported_ips = 4;
        let text = reason(&r);
        assert!(text.starts_with("reported by at least 1 trusted operator in the last 1h (spam); has 4 reported neighbours in 203.0.113.0/24"), "{text}");
    }

    #[test]
    fn reasons_are_single_printable_lines_of_bounded_length() {
        let mut r = reputation(Verdict::Neutral, vec![]);
        // The longest domain a subject may be.
        let label = "a".repeat(63);
        r.subject = format!("{label}.{label}.{label}.{}", "b".repeat(61))
            .parse()
            .expect("subject");
        let text = reason(&r);
        assert!(text.len() <= MAX_REASON);
        assert!(text.bytes().all(|b| (0x20..0x7f).contains(&b)), "{text}");
        assert!(text.starts_with("no trusted reports or endorsements"));
    }
}
