//! Token check for write endpoints: `Authorization: Bearer <token>`, or
//! the token as the password of HTTP Basic auth (any user name), for
//! tools that can only send Basic credentials (rspamd's metadata exporter).

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::prelude::BASE64_STANDARD;

use super::error::Error;
use super::state::AppState;

/// Middleware: lets the request through only with the node's token.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(presented_token)
        .unwrap_or_default();
    if constant_time_eq(presented.as_bytes(), state.token.as_bytes()) {
        Ok(next.run(request).await)
    } else {
        Err(Error::Unauthorized)
    }
}

/// The token in an `Authorization` header value: a bearer token, or the
/// password of Basic credentials.
fn presented_token(value: &str) -> Option<String> {
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let encoded = value.strip_prefix("Basic ")?.trim();
    let decoded = BASE64_STANDARD.decode(encoded).ok()?;
    let credentials = String::from_utf8(decoded).ok()?;
    let (_user, password) = credentials.split_once(':')?;
    Some(password.to_owned())
}

/// Compares without an early exit, so timing does not reveal how much of the
/// token matched (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_credentials_carry_the_token() {
        assert_eq!(presented_token("Bearer abc ").as_deref(), Some("abc"));
        let basic = format!("Basic {}", BASE64_STANDARD.encode("vouch:abc"));
        assert_eq!(presented_token(&basic).as_deref(), Some("abc"));
        let no_colon = format!("Basic {}", BASE64_STANDARD.encode("abc"));
        assert_eq!(presented_token(&no_colon), None);
        assert_eq!(presented_token("Basic !!!"), None);
        assert_eq!(presented_token("Digest abc"), None);
    }
}
