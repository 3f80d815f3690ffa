//! errand's admin API: every operation of the `errand` CLI as JSON over
//! HTTP, with `/metrics`, `/health` and an OpenAPI document, as an axum
//! router an application mounts (or `errand serve` runs).
//!
//! [`Api`] holds the operations (the CLI calls them too, so its `--json`
//! output is the API's body); [`Api::router`] serves them behind
//! [`Access`]: a bearer token, or loopback only; read-only mode; a CSRF
//! token on browser mutations; security headers on every response.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = errand::Client::new(errand::connect("sqlite://jobs.db").await?);
//! let admin = errand_admin::Api::new(client)
//!     .router(errand_admin::Access::token(std::env::var("ERRAND_ADMIN_TOKEN")?)?);
//! let app = axum::Router::new().nest("/errand", admin);
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod api;
mod http;

pub use api::*;
pub use http::{
    ACTOR_HEADER, Access, ApiError, CSRF_HEADER, ErrorBody, OPENAPI, PAGES, ROUTES, Route,
};

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
