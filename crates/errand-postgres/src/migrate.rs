use errand_core::{Error, Result};
use sqlx::{AssertSqlSafe, PgPool};

use crate::error::db_error;
use crate::queries::{render, validate_schema};

/// The schema migrations, in order: (version, name, SQL template). `{schema}`
/// stands for the store's schema; [`migration_sql`] renders them for one.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "jobs", include_str!("../migrations/0001_jobs.sql")),
    (
        2,
        "autovacuum",
        include_str!("../migrations/0002_autovacuum.sql"),
    ),
    (
        3,
        "deferred_notify",
        include_str!("../migrations/0003_deferred_notify.sql"),
    ),
    (
        4,
        "fewer_running_indexes",
        include_str!("../migrations/0004_fewer_running_indexes.sql"),
    ),
    (
        5,
        "no_kind_index",
        include_str!("../migrations/0005_no_kind_index.sql"),
    ),
    (
        6,
        "fillfactor",
        include_str!("../migrations/0006_fillfactor.sql"),
    ),
    (
        7,
        "due_index_key",
        include_str!("../migrations/0007_due_index_key.sql"),
    ),
];

const PREPARE: &str = "CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.migrations (
    version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());";

/// The whole schema as SQL, for teams that apply migrations with their own tool.
///
/// ```
/// let sql = errand_postgres::migration_sql("errand").unwrap();
/// assert!(sql.contains("CREATE TABLE \"errand\".jobs"));
/// ```
pub fn migration_sql(schema: &str) -> Result<String> {
    validate_schema(schema)?;
    let mut sql = render(PREPARE, schema);
    for (version, name, template) in MIGRATIONS {
        sql.push_str(&format!("\n\n-- migration {version}: {name}\n"));
        sql.push_str(&render(template, schema));
        sql.push_str(&render(
            &format!("\nINSERT INTO {{schema}}.migrations (version, name) VALUES ({version}, '{name}');\n"),
            schema,
        ));
    }
    Ok(sql)
}

/// Applies missing migrations under a transaction-scoped advisory lock, so two
/// processes starting at once apply each migration exactly once.
pub(crate) async fn migrate(pool: &PgPool, schema: &str) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('errand:migrate:' || $1, 0))")
        .bind(schema)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    sqlx::raw_sql(AssertSqlSafe(render(PREPARE, schema)))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    let applied: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(render(
        "SELECT version FROM {schema}.migrations ORDER BY version",
        schema,
    )))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let known = MIGRATIONS.last().map_or(0, |(v, _, _)| *v);
    if let Some(newest) = applied.last()
        && *newest > known
    {
        return Err(Error::conflict(format!(
            "schema {schema} is at version {newest}, newer than this errand knows ({known}): upgrade errand"
        )));
    }
    for (version, name, template) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        sqlx::raw_sql(AssertSqlSafe(render(template, schema)))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(AssertSqlSafe(render(
            "INSERT INTO {schema}.migrations (version, name) VALUES ($1, $2)",
            schema,
        )))
        .bind(version)
        .bind(*name)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tracing::info!(version, name, schema, "applied errand migration");
    }
    tx.commit().await.map_err(db_error)
}
