//! Reputation lookups, single and batch, and the statements about a subject.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use vouch_protocol::{Kind, Subject};

use super::answer::ReputationJson;
use super::error::Error;
use super::json::ApiJson;
use super::state::AppState;
use super::view::StatementView;
use crate::clock::unix_now;
use crate::evidence::Source;
use crate::lookup::Answer;
use crate::trust::Reputation;

/// Parses a sender subject (IP, netblock or domain) from user input.
pub fn parse_sender(text: &str) -> Result<Subject, Error> {
    let subject: Subject = text.parse()?;
    if let Subject::Node(_) = subject {
        return Err(Error::NotASender(text.to_owned()));
    }
    Ok(subject)
}

/// Scores subjects (from memory) and says where the node's own reports
/// came from (read from disk); blocking.
fn score_all(state: &AppState, subjects: &[Subject]) -> Result<Vec<Reputation>, Error> {
    let now = unix_now();
    subjects
        .iter()
        .map(|subject| {
            let mut reputation = state.reputations.lookup(subject, now);
            name_own_sources(state, &mut reputation)?;
            Ok(reputation)
        })
        .collect()
}

/// Whether the explanation shows one of the node's own reports.
fn shows_own_report(state: &AppState, reputation: &Reputation) -> bool {
    let me = state.signer.public();
    reputation
        .explanation
        .iter()
        .any(|item| item.author == me && item.kind == Kind::Report)
}

/// Fills in where each of the node's own reports in the explanation came
/// from (`cli`, `message`, `junk`, ...); blocking (reads the store).
fn name_own_sources(state: &AppState, reputation: &mut Reputation) -> Result<(), Error> {
    let me = state.signer.public();
    for item in reputation
        .explanation
        .iter_mut()
        .filter(|item| item.author == me && item.kind == Kind::Report)
    {
        item.source = state
            .store
            .source(&item.id)?
            .and_then(Source::from_tag)
            .map(Source::as_str);
    }
    Ok(())
}

/// `GET /v1/reputation/{subject}`: scored from memory on the request's
/// own task when that is quick, otherwise on the blocking pool; only an
/// answer showing the node's own reports reads the disk (on the blocking
/// pool), to say where they came from. An answer about a sender nothing
/// bears on, or kept from the last seconds, is given as it was written
/// (see [`crate::lookup::KeptAnswer`]). Its span is at debug level, as
/// the mail-server front-ends' are: at info it cost a fifth of the
/// lookup's own work (5,900 of 32,000 instructions).
#[tracing::instrument(level = "debug", skip(state))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(subject): Path<String>,
) -> Result<ReputationJson, Error> {
    let subject = parse_sender(&subject)?;
    if let Some(body) = state.reputations.unheard_of_json(&subject) {
        return Ok(ReputationJson::Written(body));
    }
    let now = unix_now();
    let answer = match state.reputations.quick_answer(&subject, now) {
        Some(answer) => answer,
        None => {
            let reputations = state.reputations.clone();
            let lookup = tokio::task::spawn_blocking(move || reputations.answer(&subject, now));
            state.bounds.within(async { Ok(lookup.await?) }).await?
        }
    };
    if !shows_own_report(&state, answer.reputation()) {
        return Ok(ReputationJson::Answer(answer));
    }
    let mut reputation = answer.into_reputation();
    let bounds = state.bounds.clone();
    let named = tokio::task::spawn_blocking(move || {
        name_own_sources(&state, &mut reputation).map(|()| reputation)
    });
    let reputation = bounds.within(async { named.await? }).await?;
    Ok(ReputationJson::Answer(Answer::Fresh(reputation)))
}

/// Body of `POST /v1/reputation`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Subjects to score.
    pub subjects: Vec<String>,
}

/// One entry of a batch answer: the reputation, or why the subject was not understood.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchEntry {
    /// Scored.
    Scored(Box<Reputation>),
    /// Not a valid sender subject.
    Invalid {
        /// The input as given.
        subject: String,
        /// Why it was refused.
        error: String,
    },
}

/// Answer of `POST /v1/reputation`, in request order.
#[derive(Debug, Serialize)]
pub struct BatchResponse {
    /// One entry per requested subject.
    pub results: Vec<BatchEntry>,
}

/// `POST /v1/reputation`
#[tracing::instrument(skip_all, fields(subjects = request.subjects.len()))]
pub async fn batch(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, Error> {
    if request.subjects.len() > state.max_batch {
        return Err(Error::BatchTooLarge {
            given: request.subjects.len(),
            max: state.max_batch,
        });
    }
    let parsed: Vec<Result<Subject, (String, String)>> = request
        .subjects
        .into_iter()
        .map(|text| parse_sender(&text).map_err(|e| (text, e.to_string())))
        .collect();
    let valid: Vec<Subject> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let mut scored = tokio::task::spawn_blocking(move || score_all(&state, &valid))
        .await??
        .into_iter();
    let results = parsed
        .into_iter()
        .filter_map(|p| match p {
            Ok(_) => scored.next().map(|r| BatchEntry::Scored(Box::new(r))),
            Err((subject, error)) => Some(BatchEntry::Invalid { subject, error }),
        })
        .collect();
    Ok(Json(BatchResponse { results }))
}

/// Answer of `GET /v1/statements/{subject}`.
#[derive(Debug, Serialize)]
pub struct StatementsResponse {
    /// The subject, canonical form.
    pub subject: String,
    /// Live statements about exactly this subject.
    pub statements: Vec<StatementView>,
}

/// `GET /v1/statements/{subject}`
#[tracing::instrument(skip(state))]
pub async fn statements(
    State(state): State<AppState>,
    Path(subject): Path<String>,
) -> Result<Json<StatementsResponse>, Error> {
    let subject: Subject = subject.parse()?;
    let found = {
        let subject = subject.clone();
        tokio::task::spawn_blocking(move || state.store.about(&subject)).await??
    };
    let statements = found
        .iter()
        .map(|s| StatementView::new(&s.id, &s.statement))
        .collect();
    Ok(Json(StatementsResponse {
        subject: subject.to_string(),
        statements,
    }))
}
