//! `POST /v1/report/message`: a raw message in, statements out. The node
//! finds the host that handed the message to the operator's hosts (and
//! the relay chain behind it), the HELO name and the envelope sender's
//! domain, and reports them, or with `ham` withdraws its reports, so the
//! Junk folder, a filter or a script can feed the network.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use vouch_protocol::{Claim, EndorseCategory, Evidence, Kind, Limits, ReportCategory, Subject};

use super::error::Error;
use super::state::AppState;
use super::write::{DAY, HOUR, Spread, sign_and_store, spam};
use crate::clock::unix_now;
use crate::evidence::{self, Origin, Source};
use crate::ingest::Ingested;

/// A report of the same sender within this many seconds of this node's
/// last one raises its count instead of making news.
const COALESCE_SECS: u64 = HOUR;

/// Where the message comes from, as the query spells it.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MessageSource {
    /// Handed over by the operator or a script (`vouch report --message`).
    #[default]
    Message,
    /// Moved into (or, with `ham`, out of) the Junk folder.
    Junk,
    /// Rejected or marked as spam by rspamd.
    Rspamd,
}

impl From<MessageSource> for Source {
    fn from(source: MessageSource) -> Source {
        match source {
            MessageSource::Message => Source::Message,
            MessageSource::Junk => Source::Junk,
            MessageSource::Rspamd => Source::Rspamd,
        }
    }
}

/// Query of `POST /v1/report/message` (the body is the raw message).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessageQuery {
    /// Report category (default `spam`).
    pub category: ReportCategory,
    /// Where the message comes from (default `message`).
    pub source: MessageSource,
    /// The message is wanted mail: withdraw this node's reports instead.
    pub ham: bool,
    /// With `ham`: also endorse the host that sent it.
    pub endorse: bool,
}

impl Default for MessageQuery {
    fn default() -> Self {
        MessageQuery {
            category: spam(),
            source: MessageSource::default(),
            ham: false,
            endorse: false,
        }
    }
}

/// What the message says and what was done about it.
#[derive(Debug, Serialize)]
pub struct MessageResponse {
    /// The host that handed the message to the operator's hosts.
    pub origin: String,
    /// Public addresses of the hosts behind it, nearest first.
    pub relay_chain: Vec<String>,
    /// One line per subject the message names and action taken.
    pub subjects: Vec<SubjectOutcome>,
}

/// What was done about one subject.
#[derive(Debug, Serialize)]
pub struct SubjectOutcome {
    /// The subject, canonical form.
    pub subject: String,
    /// `origin`, `helo` or `envelope_sender`.
    pub role: &'static str,
    /// `reported`, `counted` (raised the count on this node's report of
    /// the last hour), `withdrawn`, `endorsed`, `unchanged`, `skipped` or
    /// `rate_limited`.
    pub action: &'static str,
    /// The statement made, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Messages the report now covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Why nothing (or something unexpected) was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SubjectOutcome {
    fn new(subject: &Subject, role: &'static str, action: &'static str) -> SubjectOutcome {
        SubjectOutcome {
            subject: subject.to_string(),
            role,
            action,
            id: None,
            count: None,
            reason: None,
        }
    }

    fn because(mut self, reason: impl Into<String>) -> SubjectOutcome {
        self.reason = Some(reason.into());
        self
    }
}

/// `POST /v1/report/message`
#[tracing::instrument(skip(state, body))]
pub async fn report_message(
    State(state): State<AppState>,
    query: Result<Query<MessageQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<MessageResponse>, Error> {
    let Query(query) = query.map_err(|e| Error::InvalidBody(e.body_text()))?;
    let body = body?;
    if query.endorse && !query.ham {
        return Err(Error::InvalidBody(
            "endorse only goes with ham: a reported message is not endorsed".into(),
        ));
    }
    let answer = tokio::task::spawn_blocking(move || act_on(&state, &query, &body)).await??;
    Ok(Json(answer))
}

/// Reads the message and acts on every subject it names. Blocking.
fn act_on(state: &AppState, query: &MessageQuery, raw: &[u8]) -> Result<MessageResponse, Error> {
    let facts = evidence::message::parse(raw).map_err(|e| Error::Unusable(e.to_string()))?;
    let origin =
        evidence::origin::find(&facts, &state.intake.own, Limits::default().max_relay_chain)
            .map_err(|e| Error::Unusable(e.to_string()))?;
    let source = Source::from(query.source);
    let now = unix_now();
    let mut subjects = Vec::new();
    let mut named = named_subjects(&origin, facts.envelope_domain.as_deref());
    if !state.intake.report_names {
        named.truncate(1);
    }
    for (subject, role) in named {
        let outcomes = if let Some(why) = own_name(state, &subject) {
            vec![SubjectOutcome::new(&subject, role, "skipped").because(why)]
        } else if query.ham {
            withdraw(state, &subject, role, query.endorse, now)?
        } else {
            let evidence = Evidence {
                message_hashes: vec![facts.body_hash],
                relay_chain: if role == "origin" {
                    origin.relay_chain.clone()
                } else {
                    Vec::new()
                },
            };
            let category = query.category;
            let claim = Claim::Report {
                category,
                count: 1,
                evidence,
            };
            vec![report(state, subject, role, claim, source, now)?]
        };
        for outcome in outcomes {
            state.metrics.auto_report(source.as_str(), outcome.action);
            subjects.push(outcome);
        }
    }
    Ok(MessageResponse {
        origin: origin.ip.to_string(),
        relay_chain: origin.relay_chain.iter().map(ToString::to_string).collect(),
        subjects,
    })
}

/// The origin's address (first), its HELO name and the envelope sender's
/// domain (names that are not domains with a dot are left out), each once.
fn named_subjects(origin: &Origin, envelope: Option<&str>) -> Vec<(Subject, &'static str)> {
    let mut named = vec![(Subject::Ip(origin.ip), "origin")];
    for (name, role) in [
        (origin.helo.as_deref(), "helo"),
        (envelope, "envelope_sender"),
    ] {
        let Some(Ok(subject @ Subject::Domain(_))) = name.map(str::parse::<Subject>) else {
            continue;
        };
        let dotted = matches!(&subject, Subject::Domain(d) if d.contains('.'));
        if dotted && !named.iter().any(|(s, _)| *s == subject) {
            named.push((subject, role));
        }
    }
    named
}

/// Why a subject is one of the operator's own, if it is.
fn own_name(state: &AppState, subject: &Subject) -> Option<&'static str> {
    match subject {
        Subject::Domain(domain) if state.intake.own.has_domain(domain) => {
            Some("one of this operator's own hosts or domains ([mta] own_hosts)")
        }
        Subject::Ip(ip) if state.intake.own.has_ip(*ip) => {
            Some("one of this operator's own networks ([mta] own_networks)")
        }
        _ => None,
    }
}

/// This node's live statement in one of its slots about `subject`.
fn own_slot(
    state: &AppState,
    kind: Kind,
    subject: &Subject,
    now: u64,
) -> Result<Option<(u64, Claim)>, Error> {
    let me = state.signer.public();
    Ok(state
        .store
        .slot(&me, kind, subject)?
        .map(|stored| stored.statement.body)
        .filter(|body| body.expires_at > now)
        .map(|body| (body.created_at, body.claim)))
}

/// Reports one subject, unless this node endorses it; within the hour of
/// this node's last report on it, raises that report's count instead.
fn report(
    state: &AppState,
    subject: Subject,
    role: &'static str,
    claim: Claim,
    source: Source,
    now: u64,
) -> Result<SubjectOutcome, Error> {
    if let Some((_, Claim::Endorse { category })) = own_slot(state, Kind::Endorse, &subject, now)? {
        // Spam relayed by a forwarder this node endorses still goes out:
        // the relay chain makes it count against the source behind it.
        if !(category == EndorseCategory::Forwarder && role == "origin") {
            return Ok(SubjectOutcome::new(&subject, role, "skipped")
                .because("this node endorses it; withdraw the endorsement to report it"));
        }
    }
    let recent = match own_slot(state, Kind::Report, &subject, now)? {
        Some((created_at, Claim::Report { count, .. }))
            if now.saturating_sub(created_at) < COALESCE_SECS =>
        {
            Some(count)
        }
        _ => None,
    };
    let (claim, spread, action) = match (recent, claim) {
        (
            Some(count),
            Claim::Report {
                category, evidence, ..
            },
        ) => (
            Claim::Report {
                category,
                count: count.saturating_add(1),
                evidence,
            },
            Spread::BackFill,
            "counted",
        ),
        (_, claim) => {
            if !state.intake.budget.admit(now) {
                tracing::warn!(%subject, source = source.as_str(), "hourly budget of reports from messages spent; not reported");
                return Ok(SubjectOutcome::new(&subject, role, "rate_limited")
                    .because("the hourly budget of reports from messages ([mta] max_reports_per_hour) is spent"));
            }
            (claim, Spread::Gossip, "reported")
        }
    };
    let count = match &claim {
        Claim::Report { count, .. } => Some(*count),
        _ => None,
    };
    let ingested = sign_and_store(
        state,
        subject.clone(),
        claim,
        7 * 24 * HOUR,
        spread,
        Some(source),
    )?;
    let mut outcome = stored(ingested, SubjectOutcome::new(&subject, role, action))?;
    outcome.count = count;
    Ok(outcome)
}

/// Withdraws this node's report on one subject, and endorses the origin
/// when asked.
fn withdraw(
    state: &AppState,
    subject: &Subject,
    role: &'static str,
    endorse: bool,
    now: u64,
) -> Result<Vec<SubjectOutcome>, Error> {
    let mut outcomes = Vec::new();
    let reported = matches!(
        own_slot(state, Kind::Report, subject, now)?,
        Some((_, Claim::Report { .. }))
    );
    let budget = |outcomes: &mut Vec<SubjectOutcome>| {
        let admitted = state.intake.budget.admit(now);
        if !admitted {
            tracing::warn!(%subject, "hourly budget of statements from messages spent");
            outcomes.push(SubjectOutcome::new(subject, role, "rate_limited").because(
                "the hourly budget of statements from messages ([mta] max_reports_per_hour) is spent",
            ));
        }
        admitted
    };
    if !reported {
        outcomes.push(
            SubjectOutcome::new(subject, role, "unchanged")
                .because("this node has no report about it to withdraw"),
        );
    } else if budget(&mut outcomes) {
        let ingested = sign_and_store(
            state,
            subject.clone(),
            Claim::Retract { kind: Kind::Report },
            Limits::default().max_ttl(Kind::Report),
            Spread::Gossip,
            None,
        )?;
        outcomes.push(stored(
            ingested,
            SubjectOutcome::new(subject, role, "withdrawn"),
        )?);
    }
    if endorse && role == "origin" && budget(&mut outcomes) {
        let ingested = sign_and_store(
            state,
            subject.clone(),
            Claim::Endorse {
                category: EndorseCategory::LegitimateSender,
            },
            180 * DAY,
            Spread::Gossip,
            None,
        )?;
        outcomes.push(stored(
            ingested,
            SubjectOutcome::new(subject, role, "endorsed"),
        )?);
    }
    Ok(outcomes)
}

/// Fills in the statement id, or turns a rejection into an error.
fn stored(
    ingested: Option<Ingested>,
    mut outcome: SubjectOutcome,
) -> Result<SubjectOutcome, Error> {
    match ingested {
        Some(Ingested::Stored { id, .. })
        | Some(Ingested::Duplicate(id))
        | Some(Ingested::Stale(id))
        | Some(Ingested::OverQuota(id)) => {
            outcome.id = Some(id.to_string());
            Ok(outcome)
        }
        Some(Ingested::Rejected(rejection)) => Err(Error::Rejected(rejection)),
        None => Err(Error::NotFound),
    }
}
