//! SQLite: every harness gets its own database file in a temporary directory.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand::{Attempt, Error, JobError, JobId, NewJob, Result, State, WorkerBuilder};
use errand_sqlite::SqliteStore;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool, Transaction};

use crate::jobs::{Effect, EffectGates};
use crate::{Harness, OpenTx, TxProbe};

fn db(e: sqlx::Error) -> Error {
    Error::backend("the test database failed", e)
}

/// A new store on a new file, with a probe for transactional enqueue.
pub async fn harness() -> Harness {
    let dir = tempfile::tempdir()
        .map_err(|e| Error::backend("no temporary directory", e))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("errand.db");
    let store = SqliteStore::open(&path)
        .await
        .unwrap_or_else(|e| panic!("open store: {e}"));
    let app = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(std::time::Duration::from_secs(30)),
    )
    .await
    .unwrap_or_else(|e| panic!("application pool: {e}"));
    Harness {
        store: Arc::new(store.clone()),
        url: format!("sqlite://{}", path.display()),
        namespace: None,
        tx: Some(Arc::new(SqliteTx {
            app,
            store: store.clone(),
        })),
        probe_worker: None,
        guard: Box::new(dir),
        reopen: Some(super::reopen(format!("sqlite://{}", path.display()), None)),
        skipped: Default::default(),
        cleanup: None,
    }
}

struct SqliteTx {
    app: SqlitePool,
    store: SqliteStore,
}

/// The effects table of the `tx_effect` job.
pub const EFFECTS_TABLE: &str = "errand_effects";

/// Writes its effect through `SqliteTx`, then completes, fails or hangs as its input says.
#[errand::job(kind = "tx_effect", max_attempts = 5)]
pub async fn tx_effect(
    input: Effect,
    attempt: Attempt,
    gates: State<EffectGates>,
    tx: errand::SqliteTx,
) -> std::result::Result<(), JobError> {
    gates.before_write(&input).await;
    let mut conn = tx.conn().await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {} (key, attempt) VALUES (?1, ?2)",
        gates.table
    )))
    .bind(&input.key)
    .bind(attempt.0)
    .execute(&mut *conn)
    .await?;
    drop(conn);
    gates.after_write(&input, attempt.0).await
}

struct Open {
    tx: Transaction<'static, Sqlite>,
    id: JobId,
}

#[async_trait]
impl TxProbe for SqliteTx {
    async fn begin_and_enqueue(&self, job: NewJob, now: DateTime<Utc>) -> Result<Box<dyn OpenTx>> {
        let mut tx = self.app.begin().await.map_err(db)?;
        let job = NewJob {
            run_at: Some(job.run_at.unwrap_or(now)),
            ..job
        };
        let done = self.store.enqueue_all_in(&mut tx, vec![job]).await?;
        let id = done
            .first()
            .map(|e| e.id)
            .ok_or_else(|| Error::backend_msg("no id"))?;
        Ok(Box::new(Open { tx, id }))
    }

    async fn begin_and_create_batch(
        &self,
        batch: errand::BatchBuilder,
    ) -> Result<(errand::BatchHandle, Box<dyn OpenTx>)> {
        let mut tx = self.app.begin().await.map_err(db)?;
        let handle = batch.enqueue_in_sqlite(&self.store, &mut tx).await?;
        let id = handle.jobs().first().map_or(JobId(0), |e| e.id);
        Ok((handle, Box::new(Open { tx, id })))
    }

    async fn effects_table(&self) -> Result<String> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS errand_effects (key TEXT NOT NULL, attempt INTEGER NOT NULL)",
        )
        .execute(&self.app)
        .await
        .map_err(db)?;
        Ok(EFFECTS_TABLE.to_owned())
    }

    async fn effects(&self, key: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM errand_effects WHERE key = ?1")
            .bind(key)
            .fetch_one(&self.app)
            .await
            .map_err(db)
    }

    fn with_effect_job(&self, builder: WorkerBuilder) -> WorkerBuilder {
        builder.register(tx_effect::job())
    }
}

#[async_trait]
impl OpenTx for Open {
    fn id(&self) -> JobId {
        self.id
    }
    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await.map_err(db)
    }
    async fn rollback(self: Box<Self>) -> Result<()> {
        self.tx.rollback().await.map_err(db)
    }
}

/// A database file migrated by a newer errand (a version this one does not
/// know) is refused with a conflict naming the version, and left as it was.
pub async fn a_newer_schema_is_refused(_: Option<std::path::PathBuf>) {
    let h = harness().await;
    let path = h
        .url
        .strip_prefix("sqlite://")
        .unwrap_or_else(|| panic!("a sqlite:// url: {}", h.url))
        .to_owned();
    h.store
        .enqueue(errand::store::EnqueueParams {
            jobs: vec![NewJob::new("noop", serde_json::json!(null))],
            now: Utc::now(),
            max_input_bytes: 1000,
        })
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"));
    let app = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    sqlx::query(
        "INSERT INTO errand_migrations (version, name, applied_at) VALUES (999, 'from_the_future', datetime('now'))",
    )
    .execute(&app)
    .await
    .unwrap_or_else(|e| panic!("record version 999: {e}"));
    let Err(e) = SqliteStore::open(&path).await else {
        panic!("a database at version 999 was accepted");
    };
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("999"), "{e}");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM errand_jobs")
        .fetch_one(&app)
        .await
        .unwrap_or_else(|e| panic!("count jobs: {e}"));
    assert_eq!(jobs, 1, "the refused open changed the jobs table");
    h.finish().await;
}

crate::special!("sqlite", a_newer_schema_is_refused);

/// Migration 11 counts the finished jobs a store already holds: with its
/// counts dropped and the migration applied again, `stats` still equals a
/// count of every job.
pub async fn the_job_counts_migration_counts_the_jobs_there(_: Option<std::path::PathBuf>) {
    let mut h = harness().await;
    let path = h
        .url
        .strip_prefix("sqlite://")
        .unwrap_or_else(|| panic!("a sqlite:// url: {}", h.url))
        .to_owned();
    let now = crate::cases::t0();
    crate::cases::admin::finish_jobs_of_every_kind(&h, now).await;
    let app = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    sqlx::raw_sql("DROP TABLE errand_job_counts; DELETE FROM errand_migrations WHERE version = 11")
        .execute(&app)
        .await
        .unwrap_or_else(|e| panic!("undo migration 11: {e}"));
    h.store = Arc::new(
        SqliteStore::open(&path)
            .await
            .unwrap_or_else(|e| panic!("migrate {path} again: {e}")),
    );
    crate::cases::admin::assert_counts_match(&h, now, "migrated again").await;
    h.finish().await;
}

crate::special!("sqlite", the_job_counts_migration_counts_the_jobs_there);
