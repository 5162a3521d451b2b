//! An answer as a response's JSON body: a kept answer's is written once
//! (see [`crate::lookup::KeptAnswer`]), a fresh one's into one buffer
//! sized for it, and one about a sender nothing bears on comes written.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::lookup::{Answer, json};

/// The JSON body of `GET /v1/reputation/{subject}`.
pub enum ReputationJson {
    /// An answer, to write out.
    Answer(Answer),
    /// An answer already written.
    Written(Bytes),
}

impl IntoResponse for ReputationJson {
    fn into_response(self) -> Response {
        let written = match self {
            ReputationJson::Answer(Answer::Fresh(reputation)) => json(&reputation),
            ReputationJson::Answer(Answer::Kept(kept)) => kept.json(),
            ReputationJson::Written(body) => Ok(body),
        };
        match written {
            Ok(body) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            Err(error) => {
                tracing::error!(%error, "cannot write a reputation as JSON");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}
