use async_trait::async_trait;
use errand_core::{Error, Result};
use errand_sql::{Migration, Migrator};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::error::db_error;

/// The schema migrations, in order. Teams that run their own migration tool
/// can apply these files themselves.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "jobs",
        sql: include_str!("../migrations/0001_jobs.sql"),
    },
    Migration {
        version: 2,
        name: "cron",
        sql: include_str!("../migrations/0002_cron.sql"),
    },
    Migration {
        version: 3,
        name: "pauses",
        sql: include_str!("../migrations/0003_pauses.sql"),
    },
    Migration {
        version: 4,
        name: "batches",
        sql: include_str!("../migrations/0004_batches.sql"),
    },
    Migration {
        version: 5,
        name: "batch_retention",
        sql: include_str!("../migrations/0005_batch_retention.sql"),
    },
    Migration {
        version: 6,
        name: "batch_hooks",
        sql: include_str!("../migrations/0006_batch_hooks.sql"),
    },
    Migration {
        version: 7,
        name: "attempt_budget",
        sql: include_str!("../migrations/0007_attempt_budget.sql"),
    },
    Migration {
        version: 8,
        name: "tenant_heads",
        sql: include_str!("../migrations/0008_tenant_heads.sql"),
    },
    Migration {
        version: 9,
        name: "workers",
        sql: include_str!("../migrations/0009_workers.sql"),
    },
    Migration {
        version: 10,
        name: "audit",
        sql: include_str!("../migrations/0010_audit.sql"),
    },
    Migration {
        version: 11,
        name: "job_counts",
        sql: include_str!("../migrations/0011_job_counts.sql"),
    },
    Migration {
        version: 12,
        name: "ended_jobs",
        sql: include_str!("../migrations/0012_ended_jobs.sql"),
    },
    Migration {
        version: 13,
        name: "job_filters",
        sql: include_str!("../migrations/0013_job_filters.sql"),
    },
];

/// The SQL of every migration, in order, for teams that apply them with
/// their own tool (`errand migrate --print-sql`).
pub fn migration_sql() -> String {
    MIGRATIONS
        .iter()
        .map(|Migration { version, name, sql }| format!("-- migration {version}: {name}\n{sql}"))
        .collect::<Vec<_>>()
        .join("\n")
}

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS errand_migrations (\
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

/// Migrates a database file in one write transaction, so that two processes
/// opening a new file at once cannot both apply them.
pub(crate) struct FileMigrator<'a> {
    pub(crate) pool: &'a SqlitePool,
}

#[async_trait]
impl Migrator for FileMigrator<'_> {
    type Db = Sqlite;

    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }

    fn place(&self) -> String {
        "the database file".to_owned()
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_error)?;
        sqlx::raw_sql(CREATE_MIGRATIONS_TABLE)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        Ok(tx)
    }

    async fn applied(&self, conn: &mut SqliteConnection) -> Result<Vec<i64>> {
        sqlx::query_scalar("SELECT version FROM errand_migrations ORDER BY version")
            .fetch_all(conn)
            .await
            .map_err(db_error)
    }

    async fn apply(&self, conn: &mut SqliteConnection, migration: &Migration) -> Result<()> {
        sqlx::raw_sql(migration.sql)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "INSERT INTO errand_migrations (version, name, applied_at) VALUES (?1, ?2, datetime('now'))",
        )
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
