//! A reputation as a response's JSON body, written into one buffer sized
//! for it: `axum::Json` starts at 128 bytes and grows its buffer four or
//! five times for an explained answer of 2 KB, on the hottest route.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::trust::Reputation;

/// Bytes of an answer without its explanation (an unknown sender's is
/// about 260).
const BASE_BYTES: usize = 320;

/// Bytes of one explained statement (about 370 with an IPv4 subject).
const ITEM_BYTES: usize = 400;

/// The JSON body of `GET /v1/reputation/{subject}`.
pub struct ReputationJson(pub Reputation);

impl IntoResponse for ReputationJson {
    fn into_response(self) -> Response {
        let items = self.0.explanation.len();
        let mut body = Vec::with_capacity(BASE_BYTES + ITEM_BYTES * items);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
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
