//! Human-readable output: aligned tables and key/value lists.

use serde_json::Value;

/// Prints pretty JSON.
pub fn json(value: &Value) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() != 0.0)
            .map_or_else(|| n.to_string(), |f| format!("{f:.3}")),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Prints selected fields as `name: value` lines.
pub fn fields(value: &Value, names: &[&str]) {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    for name in names {
        outln!("{name:<width$}  {}", text(&value[*name]));
    }
}

/// Prints rows under a header, columns aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        outln!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// Prints the answer to a write.
pub fn written(answer: &Value) -> anyhow::Result<()> {
    outln!("{} {}", text(&answer["outcome"]), text(&answer["id"]));
    Ok(())
}

/// Prints what a message named and what the node did about each subject.
pub fn message_report(answer: &Value) {
    outln!("origin {}", text(&answer["origin"]));
    let chain: Vec<String> = answer["relay_chain"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    if !chain.is_empty() {
        outln!("relayed from {}", chain.join(" <- "));
    }
    let rows: Vec<Vec<String>> = answer["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let mut detail = String::new();
            if let Some(count) = s["count"].as_u64() {
                detail.push_str(&format!("x{count} "));
            }
            if let Some(reason) = s["reason"].as_str() {
                detail.push_str(reason);
            } else if let Some(id) = s["id"].as_str() {
                detail.push_str(id);
            }
            vec![
                text(&s["action"]),
                text(&s["role"]),
                text(&s["subject"]),
                detail,
            ]
        })
        .collect();
    table(&["ACTION", "ROLE", "SUBJECT", "DETAIL"], &rows);
}

/// Prints the peer table.
pub fn peers(peers: &Value) {
    let rows: Vec<Vec<String>> = peers
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let state = if p["banned"] == Value::Bool(true) {
                "banned".to_string()
            } else if p["connected"] == Value::Bool(true) {
                "connected".to_string()
            } else {
                format!("seen {}s ago", text(&p["last_seen_secs"]))
            };
            let addrs: Vec<String> = p["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            vec![
                text(&p["peer_id"]),
                p["name"].as_str().unwrap_or("-").to_owned(),
                state,
                format!("{:.2}", p["score"].as_f64().unwrap_or(0.0)),
                text(&p["invalid_statements"]),
                p["rtt_ms"]
                    .as_f64()
                    .map_or("-".into(), |ms| format!("{ms:.1}ms")),
                addrs.join(" "),
            ]
        })
        .collect();
    if rows.is_empty() {
        outln!("no peers known");
        return;
    }
    table(
        &[
            "PEER",
            "NAME",
            "STATE",
            "SCORE",
            "INVALID",
            "RTT",
            "ADDRESSES",
        ],
        &rows,
    );
}

/// Prints the trust list.
pub fn trust_list(list: &Value) {
    let rows: Vec<Vec<String>> = list["trusted"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            vec![
                text(&e["node"]),
                e["name"].as_str().unwrap_or("-").to_owned(),
                text(&e["weight"]),
                format!("{:.3}", e["trust"].as_f64().unwrap_or(0.0)),
                text(&e["expires_at"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        outln!("this node vouches for nobody yet (vouch trust add NODE_ID)");
    } else {
        table(&["NODE", "NAME", "WEIGHT", "TRUST", "EXPIRES"], &rows);
    }
    outln!(
        "authors with non-zero trust: {}",
        text(&list["trusted_authors"])
    );
}

fn short(key: &Value) -> String {
    let s = text(key);
    if s.len() > 16 {
        format!("{}…", &s[..16])
    } else {
        s
    }
}

fn age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Prints a reputation, with its explanation when asked.
pub fn reputation(r: &Value, explain: bool) {
    outln!(
        "{}  {}  score {:+.3}  confidence {:.2}",
        text(&r["subject"]),
        text(&r["verdict"]).to_uppercase(),
        r["score"].as_f64().unwrap_or(0.0),
        r["confidence"].as_f64().unwrap_or(0.0)
    );
    outln!(
        "  reported {:.3}  endorsed {:.3}  netblock {:.3} ({} reported neighbours)  from {} statements",
        r["reported"].as_f64().unwrap_or(0.0),
        r["endorsed"].as_f64().unwrap_or(0.0),
        r["netblock"].as_f64().unwrap_or(0.0),
        text(&r["netblock_reported_ips"]),
        text(&r["statements"])
    );
    let fresh = r["fresh_reporters"].as_u64().unwrap_or(0);
    if fresh > 0 {
        let minutes = r["fresh_window_minutes"].as_f64().unwrap_or(60.0);
        outln!(
            "  {fresh} trusted operators first reported it within {} of each other (fresh evidence)",
            span(minutes)
        );
    }
    if !explain {
        return;
    }
    let rows: Vec<Vec<String>> = r["explanation"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            vec![
                format!("{:+.3}", c["weight"].as_f64().unwrap_or(0.0)),
                text(&c["kind"]),
                text(&c["category"]),
                text(&c["signal"]),
                text(&c["subject"]),
                c["author_name"]
                    .as_str()
                    .map_or_else(|| short(&c["author"]), str::to_owned),
                format!("{:.3}", c["author_trust"].as_f64().unwrap_or(0.0)),
                age(c["age_secs"].as_u64().unwrap_or(0)),
                format!("{:.2}", c["decay"].as_f64().unwrap_or(0.0)),
                if c["fresh"].as_bool().unwrap_or(false) {
                    "yes".into()
                } else {
                    String::new()
                },
                c["source"].as_str().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    if rows.is_empty() {
        outln!("  no statements from authors in this node's web of trust");
    } else {
        outln!();
        table(
            &[
                "WEIGHT", "KIND", "CATEGORY", "SIGNAL", "SUBJECT", "AUTHOR", "TRUST", "AGE",
                "DECAY", "FRESH", "SOURCE",
            ],
            &rows,
        );
    }
}

/// A window of minutes in words: "20 minutes", "an hour", "12 hours".
fn span(minutes: f64) -> String {
    if (minutes - 60.0).abs() < 0.5 {
        "an hour".into()
    } else if minutes < 60.0 {
        format!("{minutes:.0} minutes")
    } else {
        format!("{:.0} hours", minutes / 60.0)
    }
}
