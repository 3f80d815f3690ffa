//! Opens the store named by a database URL.

use std::sync::Arc;

use errand::Store;

/// The store used when no URL is given.
pub(crate) const DEFAULT_URL: &str = "sqlite://errand.db";

/// Input the user must fix (exit code 2).
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Where the store is: a URL and, for PostgreSQL, a schema (for Redis, a key prefix).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// `sqlite://path.db`, `postgres://user@host/db` or `redis://host:6379`; `None` for the default.
    pub url: Option<&'a str>,
    /// The PostgreSQL schema (default `errand`) or Redis key prefix (default `{errand}`).
    pub schema: Option<&'a str>,
}

/// The backend a URL names.
pub(crate) fn backend_of(url: &str) -> anyhow::Result<&'static str> {
    if url.starts_with("sqlite:") {
        Ok("sqlite")
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok("postgres")
    } else if url.starts_with("redis:") || url.starts_with("rediss:") || url.starts_with("valkey:")
    {
        Ok("redis")
    } else {
        let scheme = url.split(':').next().unwrap_or(url);
        Err(UsageError(format!(
            "invalid database_url {:?}: unknown scheme {scheme:?} (supported: sqlite://path.db, postgres://user@host/db, redis://host:6379)",
            errand::validate::redact_url(url)
        ))
        .into())
    }
}

/// Opens the target (or `default`), applying migrations; a SQLite file is
/// created when missing.
pub(crate) async fn open(target: Target<'_>, default: &str) -> anyhow::Result<Arc<dyn Store>> {
    open_with(target, default, true).await
}

/// Opens a store that must exist already: a missing SQLite file is an
/// error naming it, not a new empty database (commands that only read or
/// change existing jobs).
pub(crate) async fn open_existing(
    target: Target<'_>,
    default: &str,
) -> anyhow::Result<Arc<dyn Store>> {
    open_with(target, default, false).await
}

async fn open_with(
    target: Target<'_>,
    default: &str,
    create: bool,
) -> anyhow::Result<Arc<dyn Store>> {
    let url = target.url.unwrap_or(default);
    backend_of(url)?;
    let options = errand::ConnectOptions {
        namespace: target.schema.map(str::to_owned),
        create_if_missing: create,
        ..Default::default()
    };
    Ok(errand::connect_with(url, options).await?)
}

/// The SQL of the target's migrations, without applying them.
pub(crate) fn migration_sql(target: Target<'_>) -> anyhow::Result<String> {
    let url = target.url.unwrap_or(DEFAULT_URL);
    Ok(match backend_of(url)? {
        "postgres" => errand::postgres::migration_sql(
            target.schema.unwrap_or(errand::postgres::DEFAULT_SCHEMA),
        )?,
        "redis" => {
            return Err(UsageError(
                "the Redis store has no schema and no migrations: there is no SQL to print".into(),
            )
            .into());
        }
        _ => errand::sqlite::migration_sql(),
    })
}
