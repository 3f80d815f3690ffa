//! The HTTP face of [`Api`]: an axum router of JSON endpoints, `/metrics`,
//! `/health` and the OpenAPI document, behind [`Access`], and the web
//! dashboard at its root.

mod access;
mod dashboard;
mod error;
mod extract;
mod routes;

use std::sync::Arc;

pub use access::{Access, CSRF_HEADER};
pub use dashboard::PAGES;
pub use error::{ApiError, ErrorBody};
pub use extract::ACTOR_HEADER;
pub use routes::{ROUTES, Route};

use crate::Api;

/// The OpenAPI 3.1 document of the API, served at `/api/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What every handler shares.
pub(crate) struct App {
    pub api: Api,
    pub access: Access,
    /// The token browser mutations carry; new at every start.
    pub csrf: String,
}

/// A new CSRF token: 128 bits from the operating system's generator.
fn csrf_token() -> String {
    let mut bytes = [0u8; 16];
    // Without the system's generator no token can be trusted: fall back to
    // one no request can match (every browser mutation is then refused).
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("no random source: the dashboard cannot change anything");
        return "\u{0}unmatchable".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Api {
    /// The admin API as a router to serve or to nest in an application's
    /// own (`Router::nest("/errand", router)`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = errand::Client::new(errand::connect("sqlite://jobs.db").await?);
    /// let router = errand_admin::Api::new(client).router(errand_admin::Access::token("s3cret-token")?);
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// axum::serve(listener, router).await?;
    /// # Ok(()) }
    /// ```
    pub fn router(self, access: Access) -> axum::Router {
        let app = Arc::new(App {
            api: self,
            access,
            csrf: csrf_token(),
        });
        routes::router(app)
    }
}
