use errand_core::{Error, Result};
use sqlx::SqlitePool;

use crate::error::db_error;

/// The schema migrations, in order: (version, name, SQL). Teams that run their
/// own migration tool can apply these files themselves.
pub const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "jobs", include_str!("../migrations/0001_jobs.sql"))];

/// The SQL of every migration, in order, for teams that apply them with
/// their own tool (`errand migrate --print-sql`).
pub fn migration_sql() -> String {
    MIGRATIONS
        .iter()
        .map(|(version, name, sql)| format!("-- migration {version}: {name}\n{sql}"))
        .collect::<Vec<_>>()
        .join("\n")
}

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS errand_migrations (\
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

/// Applies the missing migrations in one write transaction, so that two
/// processes opening a new file at once cannot both apply them.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
    sqlx::raw_sql(CREATE_MIGRATIONS_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM errand_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
    let known = MIGRATIONS.last().map_or(0, |(v, _, _)| *v);
    if let Some(newest) = applied.last()
        && *newest > known
    {
        return Err(Error::conflict(format!(
            "the database schema is at version {newest}, newer than this errand knows ({known}): upgrade errand"
        )));
    }
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query("INSERT INTO errand_migrations (version, name, applied_at) VALUES (?1, ?2, datetime('now'))")
            .bind(version)
            .bind(*name)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tracing::info!(version, name, "applied errand migration");
    }
    tx.commit().await.map_err(db_error)
}
