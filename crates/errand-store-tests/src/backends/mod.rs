//! Fresh, isolated stores of each backend for the suite and the crash tests.

use std::sync::Arc;

use errand::{Error, Result, Store};

#[cfg(feature = "postgres")]
pub mod pg_server;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "redis")]
pub mod redis_server;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Opens the store a database URL names, in `namespace` (a schema or key
/// prefix) when given: for worker processes started by tests.
pub async fn open(url: &str, namespace: Option<&str>) -> Result<Arc<dyn Store>> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        let _ = namespace;
        return Ok(Arc::new(errand_sqlite::SqliteStore::connect(url).await?));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return postgres::open(url, namespace).await;
    }
    #[cfg(feature = "redis")]
    if url.starts_with("redis:") || url.starts_with("rediss:") || url.starts_with("valkey:") {
        return redis::open(url, namespace).await;
    }
    Err(Error::invalid(
        "database_url",
        url,
        "no backend of this build handles it",
    ))
}

/// Registers the `tx_effect` job of the backend a URL names and the gates it
/// needs (for worker processes started by tests).
pub fn with_effect_job(
    url: &str,
    namespace: Option<&str>,
    gates: impl FnOnce(String) -> crate::jobs::EffectGates,
    builder: errand::WorkerBuilder,
) -> errand::WorkerBuilder {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return builder
            .register(sqlite::tx_effect::job())
            .state(gates(sqlite::EFFECTS_TABLE.to_owned()));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return builder
            .register(postgres::tx_effect::job())
            .state(gates(postgres::effects_table(
                namespace.unwrap_or("errand"),
            )));
    }
    let _ = (namespace, gates);
    builder
}
