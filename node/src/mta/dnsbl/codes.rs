//! The answer codes: which 127.0.0.x a listed name gets, by list, strength
//! and category. docs/mta.md shows the table; a test keeps it in step.

use vouch_protocol::{EndorseCategory, ReportCategory};

use crate::lookup::Standing;
use crate::trust::Verdict;

/// The block list's code for a subject standing as `standing`, or `None`
/// when not listed.
pub fn block_code(standing: Standing, list_suspect: bool) -> Option<u8> {
    let category = standing.report.map(|category| match category {
        ReportCategory::Spam => 0,
        ReportCategory::Phishing => 1,
        ReportCategory::Malware => 2,
        ReportCategory::Backscatter => 3,
    });
    match standing.verdict {
        Verdict::Block => Some(2 + category.unwrap_or(0)),
        Verdict::Suspect if list_suspect => Some(category.map_or(20, |c| 10 + c)),
        _ => None,
    }
}

/// The allow list's code for a subject standing as `standing`, or `None`
/// when not listed.
pub fn allow_code(standing: Standing) -> Option<u8> {
    if standing.verdict != Verdict::Allow {
        return None;
    }
    Some(match standing.endorsement {
        Some(EndorseCategory::Operator) => 3,
        Some(EndorseCategory::Forwarder) => 4,
        Some(EndorseCategory::LegitimateSender) | None => 2,
    })
}

#[cfg(test)]
mod tests {
    /// Every code the zones answer: (zone, last octet, meaning).
    const CODES: &[(&str, u8, &str)] = &[
        ("block", 2, "blocked: spam (also the RFC 5782 test point)"),
        ("block", 3, "blocked: phishing"),
        ("block", 4, "blocked: malware"),
        ("block", 5, "blocked: backscatter"),
        ("block", 10, "suspect: spam (only with dnsbl.list_suspect)"),
        (
            "block",
            11,
            "suspect: phishing (only with dnsbl.list_suspect)",
        ),
        (
            "block",
            12,
            "suspect: malware (only with dnsbl.list_suspect)",
        ),
        (
            "block",
            13,
            "suspect: backscatter (only with dnsbl.list_suspect)",
        ),
        (
            "block",
            20,
            "suspect: its /24 or /48 is reported, not the address itself (only with dnsbl.list_suspect)",
        ),
        (
            "allow",
            2,
            "allowed: endorsed as a legitimate sender (also the RFC 5782 test point)",
        ),
        ("allow", 3, "allowed: endorsed by its operator"),
        ("allow", 4, "allowed: endorsed as a forwarder"),
    ];

    #[test]
    fn the_documented_table_matches_the_codes() {
        let doc = include_str!("../../../../docs/mta.md");
        for (zone, code, meaning) in CODES {
            let row = format!("| {zone} | 127.0.0.{code} | {meaning} |");
            assert!(doc.contains(&row), "docs/mta.md lacks the row {row}");
        }
    }
}
