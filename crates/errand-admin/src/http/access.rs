//! Who may do what: a bearer token, read-only mode, the CSRF token of
//! browser mutations, loopback-only hosts without a token, and the
//! security headers of every response.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use errand::Error;

use super::App;
use super::error::ApiError;

/// The header a mutation without a bearer token carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who may use the admin API.
///
/// ```
/// let open = errand_admin::Access::loopback();
/// let guarded = errand_admin::Access::token("s3cret-token").expect("a long enough token").read_only();
/// assert!(open.is_open() && !guarded.is_open());
/// ```
#[derive(Clone)]
pub struct Access {
    token: Option<String>,
    read_only: bool,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl Access {
    /// No token: only requests addressed to a loopback host (localhost,
    /// 127.0.0.1, `[::1]`) are served, so a web page elsewhere cannot reach
    /// the API through a DNS name that points at this machine; mutations
    /// need the CSRF token. Serve it on a loopback address only.
    pub fn loopback() -> Self {
        Access {
            token: None,
            read_only: false,
        }
    }

    /// Every request needs `Authorization: Bearer <token>`. A token shorter
    /// than 8 characters, or with characters outside visible ASCII, is refused.
    pub fn token(token: impl Into<String>) -> errand::Result<Self> {
        let token = token.into();
        if token.len() < 8 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "token",
                "<hidden>",
                "must be at least 8 visible ASCII characters",
            ));
        }
        Ok(Access {
            token: Some(token),
            read_only: false,
        })
    }

    /// Refuses every mutation with 403.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// No token is required (loopback only).
    pub fn is_open(&self) -> bool {
        self.token.is_none()
    }

    /// Mutations are refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }
}

/// Compares without stopping at the first difference, so the time taken
/// says nothing about how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `host` (a Host header, port included) names this machine's loopback.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    )
}

/// Whether a request may change something.
pub(crate) fn mutates(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks host, token, read-only mode and CSRF token, in that order.
pub(crate) async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let access = &app.access;
    let headers = request.headers();
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match &access.token {
        Some(token) => {
            if !bearer.is_some_and(|b| same(b.trim().as_bytes(), token.as_bytes())) {
                return ApiError::unauthorized().into_response();
            }
        }
        None => {
            let host = headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !loopback_host(host) {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "without a token only loopback hosts are served, not {host:?}: set a token to serve others"
                    ),
                )
                .into_response();
            }
        }
    }
    if mutates(request.method()) {
        if access.read_only {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "read_only",
                "the admin API is read-only: nothing was changed",
            )
            .into_response();
        }
        // A bearer token is never sent by a browser on its own; without
        // one, the page's CSRF token proves the request came from it.
        let csrf = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes);
        if access.token.is_none() && !csrf.is_some_and(|c| same(c, app.csrf.as_bytes())) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("a mutation needs the {CSRF_HEADER} header of GET /api/session"),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// The headers of every response: no framing, no sniffing, scripts and
/// styles only from this server, never stored by a cache.
pub(crate) async fn secure_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_told_from_others() {
        for host in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:80",
            "127.0.0.1.evil.example",
            "[::2]:1",
        ] {
            assert!(!loopback_host(host), "{host}");
        }
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"s3cret-token", b"s3cret-token"));
        assert!(!same(b"s3cret-token", b"s3cret-tokeN"));
        assert!(!same(b"s3cret", b"s3cret-token"));
    }
}
