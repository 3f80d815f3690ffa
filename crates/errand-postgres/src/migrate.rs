use async_trait::async_trait;
use errand_core::{Error, Result};
use errand_sql::{Migration, Migrator};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Transaction};

use crate::error::db_error;
use crate::queries::{render, validate_schema};

const fn migration(version: i64, name: &'static str, sql: &'static str) -> Migration {
    Migration { version, name, sql }
}

/// The schema migrations, in order. Their SQL is a template in which
/// `{schema}` stands for the store's schema; [`migration_sql`] renders them.
pub const MIGRATIONS: &[Migration] = &[
    migration(1, "jobs", include_str!("../migrations/0001_jobs.sql")),
    migration(
        2,
        "autovacuum",
        include_str!("../migrations/0002_autovacuum.sql"),
    ),
    migration(
        3,
        "deferred_notify",
        include_str!("../migrations/0003_deferred_notify.sql"),
    ),
    migration(
        4,
        "fewer_running_indexes",
        include_str!("../migrations/0004_fewer_running_indexes.sql"),
    ),
    migration(
        5,
        "no_kind_index",
        include_str!("../migrations/0005_no_kind_index.sql"),
    ),
    migration(
        6,
        "fillfactor",
        include_str!("../migrations/0006_fillfactor.sql"),
    ),
    migration(
        7,
        "due_index_key",
        include_str!("../migrations/0007_due_index_key.sql"),
    ),
    migration(8, "cron", include_str!("../migrations/0008_cron.sql")),
    migration(9, "pauses", include_str!("../migrations/0009_pauses.sql")),
    migration(
        10,
        "batches",
        include_str!("../migrations/0010_batches.sql"),
    ),
    migration(
        11,
        "batch_retention",
        include_str!("../migrations/0011_batch_retention.sql"),
    ),
    migration(
        12,
        "batch_hooks",
        include_str!("../migrations/0012_batch_hooks.sql"),
    ),
    migration(
        13,
        "attempt_budget",
        include_str!("../migrations/0013_attempt_budget.sql"),
    ),
    migration(
        14,
        "tenant_heads",
        include_str!("../migrations/0014_tenant_heads.sql"),
    ),
    migration(
        15,
        "batch_moves",
        include_str!("../migrations/0015_batch_moves.sql"),
    ),
    migration(
        16,
        "workers",
        include_str!("../migrations/0016_workers.sql"),
    ),
    migration(17, "audit", include_str!("../migrations/0017_audit.sql")),
    migration(
        18,
        "job_counts",
        include_str!("../migrations/0018_job_counts.sql"),
    ),
    migration(
        19,
        "ended_jobs",
        include_str!("../migrations/0019_ended_jobs.sql"),
    ),
    migration(
        20,
        "job_filters",
        include_str!("../migrations/0020_job_filters.sql"),
    ),
];

const PREPARE: &str = "CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.migrations (
    version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());";

const RECORD: &str = "INSERT INTO {schema}.migrations (version, name) VALUES ($1, $2)";

/// The whole schema as SQL, for teams that apply migrations with their own tool.
///
/// ```
/// let sql = errand_postgres::migration_sql("errand").unwrap();
/// assert!(sql.contains("CREATE TABLE \"errand\".jobs"));
/// ```
pub fn migration_sql(schema: &str) -> Result<String> {
    validate_schema(schema)?;
    let mut sql = render(PREPARE, schema);
    for Migration {
        version,
        name,
        sql: template,
    } in MIGRATIONS
    {
        sql.push_str(&format!("\n\n-- migration {version}: {name}\n"));
        sql.push_str(&render(template, schema));
        sql.push_str(&render(
            &format!("\nINSERT INTO {{schema}}.migrations (version, name) VALUES ({version}, '{name}');\n"),
            schema,
        ));
    }
    Ok(sql)
}

/// Migrates one schema under a transaction-scoped advisory lock, so two
/// processes starting at once apply each migration exactly once.
pub(crate) struct SchemaMigrator<'a> {
    pub(crate) pool: &'a PgPool,
    pub(crate) schema: &'a str,
}

#[async_trait]
impl Migrator for SchemaMigrator<'_> {
    type Db = Postgres;

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn place(&self) -> String {
        format!("schema {}", self.schema)
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('errand:migrate:' || $1, 0))")
            .bind(self.schema)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::raw_sql(AssertSqlSafe(render(PREPARE, self.schema)))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        Ok(tx)
    }

    async fn applied(&self, conn: &mut PgConnection) -> Result<Vec<i64>> {
        sqlx::query_scalar(AssertSqlSafe(render(
            "SELECT version FROM {schema}.migrations ORDER BY version",
            self.schema,
        )))
        .fetch_all(conn)
        .await
        .map_err(db_error)
    }

    async fn apply(&self, conn: &mut PgConnection, migration: &Migration) -> Result<()> {
        sqlx::raw_sql(AssertSqlSafe(render(migration.sql, self.schema)))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        sqlx::query(AssertSqlSafe(render(RECORD, self.schema)))
            .bind(migration.version)
            .bind(migration.name)
            .execute(conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    fn error(e: sqlx::Error) -> Error {
        db_error(e)
    }
}
