//! `GET /v1/export` and `POST /v1/import`: the node's statements as an
//! export file (see [`vouch_protocol::records`]), in pages, and back. An
//! imported statement takes the same path as one a peer back-fills:
//! decoded, validated, verified and admitted (strangers only under their
//! quota), trust statements first; it is not gossiped (peers back-fill).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::Error;
use super::state::AppState;
use crate::clock::unix_now;
use crate::ingest::Ingested;

/// Most statements in one export page.
pub const MAX_EXPORT_PAGE: usize = 10_000;
/// Largest import request body: about ten thousand statements, ingested well within the request timeout.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;
/// Header naming the sequence number the next page starts from.
pub const NEXT_HEADER: &str = "x-vouch-next";
/// Header saying whether more statements follow (`true` or `false`).
pub const MORE_HEADER: &str = "x-vouch-more";

/// Query of `GET /v1/export`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportQuery {
    /// First local sequence number to include (0: from the start).
    pub from: u64,
    /// Most statements in the page (at most [`MAX_EXPORT_PAGE`]).
    pub limit: usize,
}

impl Default for ExportQuery {
    fn default() -> Self {
        ExportQuery {
            from: 0,
            limit: MAX_EXPORT_PAGE,
        }
    }
}

/// `GET /v1/export`: one page of the live statements the node holds, in
/// its ingest order, as export-file records; the headers say where the
/// next page starts and whether there is one.
#[tracing::instrument(skip(state))]
pub async fn export(
    State(state): State<AppState>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(query) = query.map_err(|e| Error::InvalidBody(e.body_text()))?;
    let limit = query.limit;
    if !(1..=MAX_EXPORT_PAGE).contains(&limit) {
        return Err(Error::InvalidBody(format!(
            "limit must be within 1..={MAX_EXPORT_PAGE}"
        )));
    }
    let (body, next, more) = tokio::task::spawn_blocking(move || {
        let now = unix_now();
        let entries = state.store.since(query.from, limit)?;
        let more = entries.len() == limit;
        let next = entries
            .last()
            .map_or(query.from, |(seq, _)| seq.saturating_add(1));
        let mut body = Vec::new();
        for (_, stored) in entries {
            if stored.statement.body.expires_at > now {
                vouch_protocol::write_record(&mut body, &stored.bytes);
            }
        }
        Ok::<_, Error>((body, next, more))
    })
    .await??;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(NEXT_HEADER, HeaderValue::from(next));
    headers.insert(
        MORE_HEADER,
        HeaderValue::from_static(if more { "true" } else { "false" }),
    );
    Ok(response)
}

/// What an import did, statement by statement, counted.
#[derive(Debug, Default, Serialize)]
pub struct ImportResponse {
    /// Records in the request.
    pub received: usize,
    /// Newly stored.
    pub stored: usize,
    /// Newly stored under the stranger quota (authors outside the web of trust).
    pub stored_stranger: usize,
    /// Already held.
    pub duplicate: usize,
    /// Older than the statement holding their slot.
    pub stale: usize,
    /// From strangers whose quota is used up: not stored.
    pub over_quota: usize,
    /// Invalid ones by the rule they break (`expired`, `bad_signature`, …).
    pub rejected: BTreeMap<&'static str, usize>,
}

/// `POST /v1/import`: export-file records in the body (at most
/// [`MAX_IMPORT_BYTES`]), each ingested as if a peer had back-filled it.
#[tracing::instrument(skip_all)]
pub async fn import(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportResponse>, Error> {
    let body = body?;
    let items = vouch_protocol::records(&body)
        .map(|record| record.map(<[u8]>::to_vec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidBody(e.to_string()))?;
    let received = items.len();
    let ingested = tokio::task::spawn_blocking(move || {
        let ingested = state
            .ingest
            .submit_encoded_trust_first(items, unix_now())?
            .results;
        // Acknowledged means on disk.
        state.store.sync_wal()?;
        Ok::<_, Error>(ingested)
    })
    .await??;
    let mut response = ImportResponse {
        received,
        ..ImportResponse::default()
    };
    for result in &ingested {
        match result {
            Ingested::Stored {
                stranger: false, ..
            } => response.stored += 1,
            Ingested::Stored { stranger: true, .. } => response.stored_stranger += 1,
            Ingested::Duplicate(_) => response.duplicate += 1,
            Ingested::Stale(_) => response.stale += 1,
            Ingested::OverQuota(_) => response.over_quota += 1,
            Ingested::Rejected(rejection) => {
                *response.rejected.entry(rejection.rule()).or_default() += 1
            }
        }
    }
    tracing::info!(
        received,
        stored = response.stored + response.stored_stranger,
        "import"
    );
    Ok(Json(response))
}
