//! Fresh, isolated stores of each backend for the suite and the crash tests.

use std::sync::Arc;

use errand::{Error, Result, Store};

#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Opens the store a database URL names (for worker processes started by tests).
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(errand_sqlite::SqliteStore::connect(url).await?));
    }
    Err(Error::invalid(
        "database_url",
        url,
        "no backend of this build handles it",
    ))
}
