//! The API's error is its response: one enum, one status mapping, a stable
//! machine code and a human message. Internal details are logged, not sent.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vouch_protocol::SubjectError;

use crate::ingest::Rejection;
use crate::store;

/// Everything an API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No or wrong bearer token on a write endpoint.
    #[error("missing or wrong bearer token; use the token in the node's api.token file")]
    Unauthorized,
    /// The subject does not parse.
    #[error("{0}")]
    BadSubject(#[from] SubjectError),
    /// The subject is a node key where a mail sender is expected.
    #[error("{0} is a node key, not a mail sender; see /v1/trust")]
    NotASender(String),
    /// The body is not the JSON this endpoint expects.
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// The body is larger than the configured limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// A raw message that names nothing to report (it does not parse, or
    /// every hop is the operator's own).
    #[error("{0}")]
    Unusable(String),
    /// A domain's `_vouch` record could not be used.
    #[error("{0}")]
    Name(String),
    /// More subjects in one batch than allowed.
    #[error("batch of {given} subjects, the limit is {max}")]
    BatchTooLarge {
        /// Subjects in the request.
        given: usize,
        /// The limit.
        max: usize,
    },
    /// The statement the request would make breaks a protocol rule.
    #[error("statement rejected: {0}")]
    Rejected(#[from] Rejection),
    /// No such route.
    #[error("no such endpoint")]
    NotFound,
    /// The store failed (a full disk, say): the operator needs to know why.
    #[error("storage error: {0}")]
    Store(#[from] store::Error),
    /// The request took longer than `api.request_timeout_ms`.
    #[error("the request took too long")]
    Timeout,
    /// A blocking task panicked or was cancelled.
    #[error("internal error")]
    Internal(#[from] tokio::task::JoinError),
}

/// A raw body that could not be read: too large, or cut short.
impl From<BytesRejection> for Error {
    fn from(rejection: BytesRejection) -> Error {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::BodyTooLarge
        } else {
            Error::InvalidBody(rejection.body_text())
        }
    }
}

impl Error {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::BadSubject(_) => (StatusCode::BAD_REQUEST, "bad_subject"),
            Error::NotASender(_) => (StatusCode::BAD_REQUEST, "not_a_sender"),
            Error::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Error::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            Error::Name(_) => (StatusCode::UNPROCESSABLE_ENTITY, "name_lookup_failed"),
            Error::Unusable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unusable_message"),
            Error::BatchTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large"),
            Error::Rejected(_) => (StatusCode::BAD_REQUEST, "statement_rejected"),
            Error::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Error::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            Error::Store(_) | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        (
            status,
            Json(json!({ "error": { "code": code, "message": self.to_string() } })),
        )
            .into_response()
    }
}
