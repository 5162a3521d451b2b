//! The operator commands: trust, endorse, report, retract, query, status.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use vouch_protocol::Subject;

use crate::client::Client;
use crate::output;

/// `vouch trust …`
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Vouch for another operator's node.
    Add {
        /// The node: its id (64 hex digits, as `vouch id` prints it), its
        /// peer id (`vouch id --peer`), a multiaddr ending in
        /// /p2p/<peer id>, which the node also dials, or its operator's
        /// mail domain, whose `_vouch` TXT record names the key (pinned,
        /// and re-checked daily).
        node: String,
        /// How much, 1..=100.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
        weight: u8,
        /// Lifetime in days.
        #[arg(long, default_value_t = 365)]
        ttl_days: u64,
    },
    /// Withdraw a vouch.
    Remove {
        /// The node id or peer id.
        node: String,
    },
    /// List the nodes this node vouches for.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Endorsement categories.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum EndorseCategory {
    /// Legitimate mail comes from this sender.
    LegitimateSender,
    /// I operate this host or domain.
    Operator,
    /// This host forwards mail (lists, aliases).
    Forwarder,
}

/// `vouch endorse`
#[derive(Debug, Args)]
pub struct EndorseArgs {
    /// IP, netblock (CIDR) or domain.
    subject: String,
    /// In what capacity.
    #[arg(long, value_enum, default_value = "legitimate-sender")]
    category: EndorseCategory,
    /// Lifetime in days.
    #[arg(long, default_value_t = 180)]
    ttl_days: u64,
}

/// Report categories.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportCategory {
    /// Unsolicited bulk mail.
    Spam,
    /// Phishing.
    Phishing,
    /// Malware.
    Malware,
    /// Backscatter.
    Backscatter,
}

/// Where a message handed to `vouch report --message` comes from.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MessageSource {
    /// The operator or a script.
    Message,
    /// A user moved it into (or, with --ham, out of) the Junk folder.
    Junk,
    /// rspamd rejected or marked it as spam.
    Rspamd,
}

/// `vouch report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// IP, netblock (CIDR) or domain; or use --message.
    #[arg(required_unless_present = "message", conflicts_with = "message")]
    subject: Option<String>,
    /// Read a raw message (RFC 5322 file, or - for standard input) and
    /// report the host that handed it to this operator's hosts, its HELO
    /// name and the envelope sender's domain.
    #[arg(long, value_name = "FILE")]
    message: Option<PathBuf>,
    /// With --message: the message is wanted mail; withdraw this node's
    /// reports about its senders instead.
    #[arg(long, requires = "message")]
    ham: bool,
    /// With --ham: also endorse the host that sent it.
    #[arg(long, requires = "ham")]
    endorse: bool,
    /// With --message: where the message comes from (shown in explanations).
    #[arg(long, value_enum, default_value = "message", requires = "message")]
    source: MessageSource,
    /// What kind of bad mail.
    #[arg(long, value_enum, default_value = "spam")]
    category: ReportCategory,
    /// How many messages.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,
    /// SHA-256 of an offending message (hex); repeatable.
    #[arg(long = "message-hash")]
    message_hashes: Vec<String>,
    /// Relay chain hop from Received/ARC headers, nearest first; repeatable.
    #[arg(long = "relay")]
    relay_chain: Vec<String>,
    /// Lifetime in hours (at most 720).
    #[arg(long, default_value_t = 168)]
    ttl_hours: u64,
}

/// Statement kinds a retraction can withdraw.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RetractKind {
    /// A vouch for a node.
    Trust,
    /// An endorsement.
    Endorse,
    /// A report.
    Report,
    /// A remediation notice.
    Remediate,
}

/// `vouch remediate`
#[derive(Debug, Args)]
pub struct RemediateArgs {
    /// IP, netblock (CIDR) or domain whose problem was fixed.
    subject: String,
    /// What was done, e.g. "compromised account closed".
    #[arg(long)]
    note: String,
    /// When it was fixed, Unix seconds (default: now).
    #[arg(long)]
    at: Option<u64>,
}

/// `vouch retract`
#[derive(Debug, Args)]
pub struct RetractArgs {
    /// What to withdraw.
    #[arg(value_enum)]
    kind: RetractKind,
    /// The subject of the statement (node id for trust).
    subject: String,
}

/// `vouch query`
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// IP, netblock (CIDR) or domain.
    subject: String,
    /// Show the statements behind the verdict.
    #[arg(long)]
    explain: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The node key (hex) of a node named by key, peer id or multiaddr.
fn check_node(node: &str) -> anyhow::Result<String> {
    Ok(vouch_node::parse_peer(node)?.node.to_string())
}

fn check_sender(subject: &str) -> anyhow::Result<String> {
    match subject.parse::<Subject>()? {
        Subject::Node(_) => anyhow::bail!("{subject} is a node id, not a mail sender"),
        parsed => Ok(parsed.to_string()),
    }
}

/// `vouch status`
pub fn status(client: &Client, json: bool) -> anyhow::Result<()> {
    let status: Value = client.get("/v1/status")?;
    if json {
        return output::json(&status);
    }
    output::fields(
        &status,
        &[
            "node_id",
            "version",
            "uptime_secs",
            "statements",
            "next_seq",
            "trust_edges",
            "trusted_authors",
            "stranger_statements",
            "peer_id",
            "network",
            "peers_connected",
        ],
    );
    for addr in status["listen_addrs"].as_array().into_iter().flatten() {
        outln!("listen  {}", addr.as_str().unwrap_or_default());
    }
    for pin in status["names"].as_array().into_iter().flatten() {
        let state = pin["state"].as_str().unwrap_or_default();
        let detail = match state {
            "changed" => format!(
                "CHANGED: the record now names {}; the vouch stays on the pinned {}",
                pin["now"].as_str().unwrap_or_default(),
                pin["key"].as_str().unwrap_or_default()
            ),
            "missing" => "MISSING: the record is gone (the vouch stays on the pinned key)".into(),
            "failing" => format!(
                "lookup failing: {}",
                pin["reason"].as_str().unwrap_or_default()
            ),
            _ => "verified".into(),
        };
        outln!(
            "name    {}  {}",
            pin["domain"].as_str().unwrap_or_default(),
            detail
        );
    }
    Ok(())
}

/// `vouch peers`
pub fn peers(client: &Client, json: bool) -> anyhow::Result<()> {
    let answer: Value = client.get("/v1/peers")?;
    if json {
        return output::json(&answer);
    }
    if answer["network"] != Value::Bool(true) {
        anyhow::bail!("the node's network is not running (p2p.enabled = false?)");
    }
    output::peers(&answer["peers"]);
    Ok(())
}

/// `vouch trust …`
pub fn trust(client: &Client, command: TrustCommand) -> anyhow::Result<()> {
    match command {
        TrustCommand::Add {
            node,
            weight,
            ttl_days,
        } => {
            if check_node(&node).is_err() {
                vouch_node::canonical_domain(&node).map_err(|_| {
                    anyhow::anyhow!(
                        "{node:?} is neither a node id, a peer id, a multiaddr with /p2p/, nor a domain"
                    )
                })?;
            }
            let body = json!({ "node": node.trim(), "weight": weight, "ttl_days": ttl_days });
            output::written(&client.post("/v1/trust", &body)?)
        }
        TrustCommand::Remove { node } => {
            let body = json!({ "node": check_node(&node)?, "weight": 0 });
            output::written(&client.post("/v1/trust", &body)?)
        }
        TrustCommand::List { json } => {
            let list: Value = client.get("/v1/trust")?;
            if json {
                return output::json(&list);
            }
            output::trust_list(&list);
            Ok(())
        }
    }
}

/// `vouch endorse`
pub fn endorse(client: &Client, args: EndorseArgs) -> anyhow::Result<()> {
    let category = match args.category {
        EndorseCategory::LegitimateSender => "legitimate_sender",
        EndorseCategory::Operator => "operator",
        EndorseCategory::Forwarder => "forwarder",
    };
    let body = json!({ "subject": check_sender(&args.subject)?, "category": category, "ttl_days": args.ttl_days });
    output::written(&client.post("/v1/endorse", &body)?)
}

/// `vouch report`
pub fn report(client: &Client, args: ReportArgs) -> anyhow::Result<()> {
    let category = match args.category {
        ReportCategory::Spam => "spam",
        ReportCategory::Phishing => "phishing",
        ReportCategory::Malware => "malware",
        ReportCategory::Backscatter => "backscatter",
    };
    if let Some(path) = &args.message {
        return report_message(client, path, category, &args);
    }
    let subject = args.subject.as_deref().unwrap_or_default();
    let body = json!({
        "subject": check_sender(subject)?,
        "category": category,
        "count": args.count,
        "message_hashes": args.message_hashes,
        "relay_chain": args.relay_chain,
        "ttl_hours": args.ttl_hours,
    });
    output::written(&client.post("/v1/report", &body)?)
}

/// `vouch report --message FILE`
fn report_message(
    client: &Client,
    path: &Path,
    category: &str,
    args: &ReportArgs,
) -> anyhow::Result<()> {
    let raw = if path == Path::new("-") {
        let mut raw = Vec::new();
        std::io::stdin()
            .read_to_end(&mut raw)
            .context("reading the message from standard input")?;
        raw
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
    };
    let source = match args.source {
        MessageSource::Message => "message",
        MessageSource::Junk => "junk",
        MessageSource::Rspamd => "rspamd",
    };
    let query = format!(
        "/v1/report/message?category={category}&source={source}&ham={}&endorse={}",
        args.ham, args.endorse
    );
    output::message_report(&client.post_raw(&query, "message/rfc822", raw)?);
    Ok(())
}

/// `vouch retract`
pub fn retract(client: &Client, args: RetractArgs) -> anyhow::Result<()> {
    let (kind, subject) = match args.kind {
        RetractKind::Trust => ("trust", check_node(&args.subject)?),
        RetractKind::Endorse => ("endorse", check_sender(&args.subject)?),
        RetractKind::Report => ("report", check_sender(&args.subject)?),
        RetractKind::Remediate => ("remediate", check_sender(&args.subject)?),
    };
    output::written(&client.post("/v1/retract", &json!({ "subject": subject, "kind": kind }))?)
}

/// `vouch query`
pub fn query(client: &Client, args: QueryArgs) -> anyhow::Result<()> {
    let subject = check_sender(&args.subject)?;
    let reputation: Value = client.get(&format!("/v1/reputation/{subject}"))?;
    if args.json {
        return output::json(&reputation);
    }
    output::reputation(&reputation, args.explain);
    Ok(())
}

/// `vouch remediate`
pub fn remediate(client: &Client, args: RemediateArgs) -> anyhow::Result<()> {
    let body = json!({ "subject": check_sender(&args.subject)?, "note": args.note, "remediated_at": args.at });
    output::written(&client.post("/v1/remediate", &body)?)
}
