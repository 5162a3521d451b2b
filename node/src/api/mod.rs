//! The HTTP JSON API for the local mail server and operator.
//!
//! Reads are open (the listener is on loopback by default); writes sign
//! statements with the node's key and need the bearer token.

mod answer;
mod archive;
mod auth;
mod bounds;
mod error;
mod json;
mod message;
mod openapi;
mod reputation;
mod state;
mod status;
mod view;
mod write;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use archive::{MAX_EXPORT_PAGE, MAX_IMPORT_BYTES, MORE_HEADER, NEXT_HEADER};
pub use bounds::Bounds;
pub use error::Error;

use crate::config::ApiConfig;
pub use state::{AppParts, AppState};

/// Builds the router: every request bounded in size, in time
/// (`api.request_timeout_ms`, then 408) and in number at once
/// (`api.max_concurrent_requests`): by layers, or, for a single lookup,
/// around its slow part only ([`Bounds`]).
pub fn router(state: AppState, config: &ApiConfig) -> Router {
    let auth = middleware::from_fn_with_state(state.clone(), auth::require_token);
    let bounds = state.bounds.clone();
    let lookup = Router::new().route("/v1/reputation/{*subject}", get(reputation::get_one));
    Router::new()
        .route("/v1/reputation", post(reputation::batch))
        .route("/v1/statements/{*subject}", get(reputation::statements))
        .route("/v1/status", get(status::status))
        .route("/v1/peers", get(status::peers))
        .route(
            "/v1/trust",
            get(status::trust_list).merge(post(write::trust).route_layer(auth.clone())),
        )
        .route(
            "/v1/endorse",
            post(write::endorse).route_layer(auth.clone()),
        )
        .route("/v1/report", post(write::report).route_layer(auth.clone()))
        .route(
            "/v1/report/message",
            post(message::report_message)
                .layer(DefaultBodyLimit::max(state.intake.max_message_bytes))
                .route_layer(auth.clone()),
        )
        .route(
            "/v1/retract",
            post(write::retract).route_layer(auth.clone()),
        )
        .route(
            "/v1/remediate",
            post(write::remediate).route_layer(auth.clone()),
        )
        .route("/v1/export", get(archive::export).route_layer(auth.clone()))
        .route(
            "/v1/import",
            post(archive::import)
                .layer(DefaultBodyLimit::max(archive::MAX_IMPORT_BYTES))
                .route_layer(auth),
        )
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/metrics", get(status::metrics))
        .fallback(|| async { Error::NotFound })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            bounds.timeout,
        ))
        .layer(GlobalConcurrencyLimitLayer::with_semaphore(bounds.permits))
        .merge(lookup)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state)
}

#[cfg(test)]
mod archive_tests;
#[cfg(test)]
mod message_tests;
#[cfg(test)]
mod names_tests;
#[cfg(test)]
mod test_client;
#[cfg(test)]
mod tests;
