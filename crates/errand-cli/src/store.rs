//! Opens the store named by a database URL.

use std::sync::Arc;

use errand::{SqliteStore, Store};

/// The store used when no URL is given.
pub const DEFAULT_URL: &str = "sqlite://errand.db";

/// Input the user must fix (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Opens `url` (or `default`), applying migrations.
pub async fn open(url: Option<&str>, default: &str) -> anyhow::Result<Arc<dyn Store>> {
    let url = url.unwrap_or(default);
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(SqliteStore::connect(url).await?));
    }
    let scheme = url.split(':').next().unwrap_or(url);
    Err(UsageError(format!(
        "invalid database_url {url:?}: the {scheme:?} backend is not available in this build (supported: sqlite://path.db)"
    ))
    .into())
}
