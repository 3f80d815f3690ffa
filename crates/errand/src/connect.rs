//! One way to open any store from a URL: `errand::connect(url)` picks the
//! backend whose schemes include the URL's (among the features built in).

use std::sync::Arc;
use std::time::Duration;

use errand_core::{Error, Result, Store};

/// Settings every backend understands; each backend's own options type has
/// the rest.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The PostgreSQL schema (default `errand`) or the Redis key prefix
    /// (default `{errand}`); SQLite has none and refuses one.
    pub namespace: Option<String>,
    /// SQLite: create the database file when it does not exist (default
    /// true); false makes a missing file an [`Error::NotFound`].
    pub create_if_missing: bool,
    /// Longest wait for the server to accept a connection (default 10 s).
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            namespace: None,
            create_if_missing: true,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the store a URL names, with default options: `sqlite://jobs.db`,
/// `postgres://user@host/db`, `redis://host:6379` (each behind its feature).
///
/// ```no_run
/// # async fn demo() -> errand::Result<()> {
/// let store = errand::connect("sqlite://jobs.db").await?;
/// let client = errand::Client::new(store);
/// # let _ = client; Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    connect_with(url, ConnectOptions::default()).await
}

/// Opens the store the environment names, as the `errand` CLI reads it:
/// `ERRAND_DATABASE_URL` (else `default`) and `ERRAND_SCHEMA` (the
/// PostgreSQL schema or Redis key prefix, if set).
///
/// ```no_run
/// # async fn demo() -> errand::Result<()> {
/// // The embedded SQLite file unless the deployment says otherwise.
/// let store = errand::connect_from_env("sqlite://jobs.db").await?;
/// # let _ = store; Ok(()) }
/// ```
pub async fn connect_from_env(default: &str) -> Result<Arc<dyn Store>> {
    let url = std::env::var("ERRAND_DATABASE_URL").unwrap_or_else(|_| default.to_owned());
    let options = ConnectOptions {
        namespace: std::env::var("ERRAND_SCHEMA")
            .ok()
            .filter(|s| !s.is_empty()),
        ..Default::default()
    };
    connect_with(&url, options).await
}

/// Opens the store a URL names, with `options`.
pub async fn connect_with(url: &str, options: ConnectOptions) -> Result<Arc<dyn Store>> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    let owns = |schemes: &[&str]| schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme));
    #[cfg(feature = "sqlite")]
    if owns(errand_sqlite::SqliteStore::SCHEMES) {
        if let Some(namespace) = &options.namespace {
            return Err(Error::invalid(
                "namespace",
                namespace,
                "a SQLite store has no schema or key prefix: use another file",
            ));
        }
        let tuning = errand_sqlite::SqliteOptions {
            create_if_missing: options.create_if_missing,
            ..Default::default()
        };
        let store =
            errand_sqlite::SqliteStore::connect_with(errand_sqlite::connect_options(url)?, tuning)
                .await?;
        return Ok(Arc::new(store));
    }
    #[cfg(feature = "postgres")]
    if owns(errand_postgres::PgStore::SCHEMES) {
        let settings = errand_postgres::PgOptions {
            schema: options
                .namespace
                .unwrap_or_else(|| errand_postgres::DEFAULT_SCHEMA.to_owned()),
            connect_timeout: options.connect_timeout,
            ..Default::default()
        };
        let store = errand_postgres::PgStore::connect_with(
            errand_postgres::connect_options(url)?,
            settings,
        )
        .await?;
        return Ok(Arc::new(store));
    }
    #[cfg(feature = "redis")]
    if owns(errand_redis::RedisStore::SCHEMES) {
        let settings = errand_redis::RedisOptions {
            prefix: options
                .namespace
                .unwrap_or_else(|| errand_redis::DEFAULT_PREFIX.to_owned()),
            connect_timeout: options.connect_timeout,
            ..Default::default()
        };
        return Ok(Arc::new(
            errand_redis::RedisStore::connect_with(url, settings).await?,
        ));
    }
    let _ = (&options, owns);
    Err(Error::invalid(
        "database_url",
        errand_core::validate::redact_url(url),
        format!(
            "no store of this build takes {scheme:?} URLs (built in: {})",
            supported().join(", ")
        ),
    ))
}

/// The URL schemes of the stores this build has (by feature).
pub fn supported() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut schemes: Vec<&'static str> = Vec::new();
    #[cfg(feature = "sqlite")]
    schemes.extend(errand_sqlite::SqliteStore::SCHEMES);
    #[cfg(feature = "postgres")]
    schemes.extend(errand_postgres::PgStore::SCHEMES);
    #[cfg(feature = "redis")]
    schemes.extend(errand_redis::RedisStore::SCHEMES);
    schemes
}
