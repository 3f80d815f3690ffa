//! PostgreSQL: every harness gets its own schema in the test database, dropped
//! when its case passes. Schemas of crashed runs are swept after an hour.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand::{
    Attempt, Error, JobAdmin, JobError, JobId, JobStore, NewJob, Result, State, Store,
    WorkerBuilder,
};
use errand_postgres::{PgOptions, PgStore};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};

use crate::jobs::{Effect, EffectGates};
use crate::{Harness, OpenTx, TxProbe};

/// The test server: `ERRAND_TEST_POSTGRES_URL`, else the local default.
pub fn url() -> String {
    std::env::var("ERRAND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn db(e: sqlx::Error) -> Error {
    Error::backend("the test database failed", e)
}

/// Opens a store on `url` in `schema` (default `errand`). With
/// `ERRAND_PROBE_ASYNC_UPDATES=1` in the environment, its job updates are
/// asynchronous commits (`synchronous_job_updates = false`).
pub async fn open(url: &str, schema: Option<&str>) -> Result<Arc<dyn Store>> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::invalid("database_url", url, e.to_string()))?;
    let settings = PgOptions {
        schema: schema.unwrap_or("errand").to_owned(),
        synchronous_job_updates: std::env::var("ERRAND_PROBE_ASYNC_UPDATES").as_deref() != Ok("1"),
        ..PgOptions::default()
    };
    Ok(Arc::new(PgStore::connect_with(options, settings).await?))
}

async fn sweep_stale_schemas(pool: &PgPool, now_secs: u64) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'errand_test_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    for name in names {
        let born = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if born.saturating_add(3600) < now_secs {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
            )))
            .execute(pool)
            .await;
        }
    }
}

/// A new store in a new schema of the test server, with a probe for
/// transactional enqueue.
pub async fn harness() -> Harness {
    harness_at(url()).await
}

/// A new store in a new schema of the server at `url`.
pub async fn harness_at(url: String) -> Harness {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let schema = format!("errand_test_{secs}_{:08x}", fastrand::u32(..));
    let options = PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("ERRAND_TEST_POSTGRES_URL {url}: {e}"));
    let settings = PgOptions {
        schema: schema.clone(),
        max_connections: 8,
        listen: true,
        ..PgOptions::default()
    };
    let store = PgStore::connect_with(options, settings)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required for these tests: {e}"));
    sweep_stale_schemas(store.pool(), secs).await;
    let cleanup_store = store.clone();
    let reopen = super::reopen(url.clone(), Some(schema.clone()));
    Harness {
        store: Arc::new(store.clone()),
        url,
        namespace: Some(schema),
        tx: Some(Arc::new(PgTx { store })),
        probe_worker: None,
        guard: Box::new(()),
        reopen: Some(reopen),
        skipped: Default::default(),
        cleanup: Some(Box::new(move || {
            Box::pin(async move {
                if let Err(e) = cleanup_store.drop_schema().await {
                    println!("could not drop test schema {}: {e}", cleanup_store.schema());
                }
            })
        })),
    }
}

struct PgTx {
    store: PgStore,
}

/// The effects table of the `tx_effect` job in `schema`.
pub fn effects_table(schema: &str) -> String {
    format!("\"{schema}\".errand_effects")
}

/// Writes its effect through `PgTx`, then completes, fails or hangs as its input says.
#[errand::job(kind = "tx_effect", max_attempts = 5)]
pub async fn tx_effect(
    input: Effect,
    attempt: Attempt,
    gates: State<EffectGates>,
    tx: errand::PgTx,
) -> std::result::Result<(), JobError> {
    gates.before_write(&input).await;
    let mut conn = tx.conn().await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {} (key, attempt) VALUES ($1, $2)",
        gates.table
    )))
    .bind(&input.key)
    .bind(i32::try_from(attempt.0).unwrap_or(i32::MAX))
    .execute(&mut *conn)
    .await?;
    drop(conn);
    gates.after_write(&input, attempt.0).await
}

struct Open {
    tx: Transaction<'static, Postgres>,
    id: JobId,
}

#[async_trait]
impl TxProbe for PgTx {
    async fn begin_and_enqueue(&self, job: NewJob, now: DateTime<Utc>) -> Result<Box<dyn OpenTx>> {
        let mut tx = self.store.pool().begin().await.map_err(db)?;
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
        let mut tx = self.store.pool().begin().await.map_err(db)?;
        let handle = batch.enqueue_in_pg(&self.store, &mut tx).await?;
        let id = handle.jobs().first().map_or(JobId(0), |e| e.id);
        Ok((handle, Box::new(Open { tx, id })))
    }

    async fn effects_table(&self) -> Result<String> {
        let table = effects_table(self.store.schema());
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {table} (key text NOT NULL, attempt integer NOT NULL)"
        )))
        .execute(self.store.pool())
        .await
        .map_err(db)?;
        Ok(table)
    }

    async fn effects(&self, key: &str) -> Result<i64> {
        let table = effects_table(self.store.schema());
        sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE key = $1"
        )))
        .bind(key)
        .fetch_one(self.store.pool())
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

/// A store vacuums its jobs table once `vacuum_every` jobs ended through
/// it (autovacuum would not look at a table with so few changes), and
/// refuses a zero naming the field.
pub async fn vacuums_after_vacuum_every_jobs_end(_: Option<std::path::PathBuf>) {
    use crate::cases::{claim_params, completions, effect_job, eventually};
    use errand::store::{EnqueueParams, FinalizeParams};

    let h = harness().await;
    let schema = h.namespace.clone().unwrap_or_default();
    let options = PgConnectOptions::from_str(&h.url)
        .unwrap_or_else(|e| panic!("ERRAND_TEST_POSTGRES_URL {}: {e}", h.url));
    let settings = |vacuum_every| PgOptions {
        schema: schema.clone(),
        listen: false,
        vacuum_every,
        ..PgOptions::default()
    };
    let refused = PgStore::connect_with(options.clone(), settings(Some(0))).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("vacuum_every"), "zero refused: {message}");

    let Ok(store) = PgStore::connect_with(options, settings(Some(5))).await else {
        panic!("open the store with vacuum_every 5");
    };
    let vacuums = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'jobs'",
        )
        .bind(&schema)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("read the table's vacuum count: {e}"))
    };
    let before = vacuums().await;
    let now = Utc::now();
    let jobs = (0..5)
        .map(|i| NewJob::new("k", serde_json::json!(i)))
        .collect();
    let params = EnqueueParams {
        jobs,
        now,
        max_input_bytes: 1 << 20,
    };
    let Ok(_) = store.enqueue(params).await else {
        panic!("enqueue");
    };
    let Ok(claimed) = store
        .claim(claim_params("w", &["default"], &["k"], 5, now))
        .await
    else {
        panic!("claim");
    };
    assert_eq!(claimed.len(), 5);
    let finalize = FinalizeParams {
        frees_global_slots: false,
        worker: "w".into(),
        items: completions(&claimed),
        now,
    };
    let Ok(applied) = store.finalize(finalize).await else {
        panic!("finalize");
    };
    assert!(applied.iter().all(|ok| *ok));
    // The policy is a maintenance service of the store; run it once, as a
    // worker does on its interval.
    let mut reports = Vec::new();
    for service in store.services() {
        reports.push((service.name(), service.run_once(now).await));
    }
    assert!(
        reports
            .iter()
            .any(|(name, r)| *name == "postgres-vacuum" && r.as_ref().is_ok_and(|r| r.count == 1)),
        "the vacuum service vacuums after 5 ended jobs: {reports:?}"
    );
    eventually(
        Duration::from_secs(30),
        "a vacuum after 5 ended jobs",
        || async { vacuums().await > before },
    )
    .await;

    // Jobs that end with their own transaction (`PgTx`) count too.
    let after_results = vacuums().await;
    let probe = PgTx {
        store: store.clone(),
    };
    let table = probe
        .effects_table()
        .await
        .unwrap_or_else(|e| panic!("create the effects table: {e}"));
    let worker = probe
        .with_effect_job(errand::Worker::builder(Arc::new(store.clone())))
        .state(EffectGates::new(table))
        .build()
        .unwrap_or_else(|e| panic!("build the worker: {e}"));
    let jobs = (0..5)
        .map(|i| {
            effect_job(&Effect {
                key: format!("vacuum-{i}"),
                ..Effect::default()
            })
        })
        .collect();
    let Ok(_) = store
        .enqueue(EnqueueParams {
            jobs,
            now: Utc::now(),
            max_input_bytes: 1 << 20,
        })
        .await
    else {
        panic!("enqueue the transactional jobs");
    };
    let summary = worker
        .drain()
        .await
        .unwrap_or_else(|e| panic!("drain: {e}"));
    assert_eq!(summary.completed, 5, "{summary:?}");
    eventually(
        Duration::from_secs(30),
        "a vacuum after 5 jobs completed in their own transactions",
        || async { vacuums().await > after_results },
    )
    .await;
    h.finish().await;
}

/// Two queues whose names have the same hash share one range of the due
/// index (keyed by `hashtext(queue)`): every kind of claim (idle, busy, and
/// limited by a queue cap) takes only the jobs of the queue it asks for.
pub async fn queues_sharing_a_hash_are_claimed_apart(_: Option<std::path::PathBuf>) {
    use crate::cases::{claim_params, enqueue, job, t0};

    let h = harness().await;
    // Found with `GROUP BY hashtext('queue-' || i) HAVING count(*) > 1`.
    let (mine, other) = ("queue-18608", "queue-239561");
    let pool = PgPool::connect(&h.url)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", h.url));
    let same: bool = sqlx::query_scalar("SELECT hashtext($1) = hashtext($2)")
        .bind(mine)
        .bind(other)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("compare the hashes: {e}"));
    assert!(same, "{mine} and {other} should share a hash");
    pool.close().await;

    let now = t0();
    let in_queue = |queue: &str, priority: i16| NewJob {
        queue: queue.into(),
        priority,
        ..job("k")
    };
    let jobs = vec![
        in_queue(other, 0),
        in_queue(mine, 1),
        in_queue(other, 1),
        in_queue(mine, 0),
        in_queue(other, 0),
        in_queue(mine, 0),
    ];
    let ids: Vec<JobId> = enqueue(&h, jobs, now).await.iter().map(|e| e.id).collect();
    let claim = |params| async {
        let rows = h
            .store
            .claim(params)
            .await
            .unwrap_or_else(|e| panic!("claim: {e}"));
        rows.iter().map(|row| row.id).collect::<Vec<_>>()
    };
    // A queue's first claim takes the idle form (each priority from its head).
    let first = claim(claim_params("w", &[mine], &["k"], 2, now)).await;
    assert_eq!(first, vec![ids[3], ids[5]]);
    // The queue filled that claim, so the next one walks it as busy.
    let second = claim(claim_params("w", &[mine], &["k"], 10, now)).await;
    assert_eq!(second, vec![ids[1]]);
    // A queue cap takes the limited path.
    let mut capped = claim_params("w", &[other], &["k"], 10, now);
    capped.queues[0].cap = Some(2);
    let third = claim(capped).await;
    assert_eq!(third, vec![ids[0], ids[4]]);
    let rest = claim(claim_params("w", &[other], &["k"], 10, now)).await;
    assert_eq!(rest, vec![ids[2]]);
    h.finish().await;
}

/// `PgEnqueueExt::enqueue_in_pg` and `PgStore::enqueue_in` write into the
/// schema of the store they are given (each harness has a schema of its
/// own), on the application's own pool and transaction.
pub async fn transactional_enqueue_reaches_the_stores_schema(_: Option<std::path::PathBuf>) {
    use errand::JobState;
    use errand::PgEnqueueExt;
    use errand::store::GetParams;

    let h = harness().await;
    let store = PgStore::connect_with(
        PgConnectOptions::from_str(&h.url)
            .unwrap_or_else(|e| panic!("ERRAND_TEST_POSTGRES_URL {}: {e}", h.url)),
        PgOptions {
            schema: h.namespace.clone().unwrap_or_default(),
            ..PgOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("open the harness's schema: {e}"));
    let app = PgPool::connect(&h.url)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", h.url));
    let mut tx = app.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
    let by_trait = crate::jobs::typed_input::enqueue(crate::jobs::Email {
        to: "ada@example.com".into(),
    })
    .enqueue_in_pg(&store, &mut tx)
    .await
    .unwrap_or_else(|e| panic!("enqueue_in_pg: {e}"));
    let by_store = store
        .enqueue_in(&mut tx, crate::jobs::noop::enqueue())
        .await
        .unwrap_or_else(|e| panic!("PgStore::enqueue_in: {e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("commit: {e}"));
    let now = chrono::Utc::now();
    for (id, kind) in [(by_trait.id, "typed_input"), (by_store.id, "noop")] {
        let row = h
            .store
            .get(GetParams { id, now })
            .await
            .unwrap_or_else(|e| panic!("get: {e}"))
            .unwrap_or_else(|| panic!("job {id} ({kind}) is not in the store's schema"));
        assert_eq!((row.kind.as_str(), row.state), (kind, JobState::Available));
    }
    app.close().await;
    drop(store);
    h.finish().await;
}

crate::special!("postgres", vacuums_after_vacuum_every_jobs_end);
crate::special!("postgres", transactional_enqueue_reaches_the_stores_schema);
crate::special!("postgres", queues_sharing_a_hash_are_claimed_apart);

/// Workers live through a crash and restart of a throwaway PostgreSQL server.
pub async fn workers_reconnect_after_the_server_restarts(probe_worker: Option<std::path::PathBuf>) {
    let server = super::pg_server::PgServer::start()
        .unwrap_or_else(|e| panic!("a throwaway PostgreSQL server (initdb, pg_ctl): {e}"));
    super::restart_case(&server, harness_at, probe_worker).await;
}

crate::special!("postgres", workers_reconnect_after_the_server_restarts);

/// The same with asynchronous job updates: forgotten results are rescued
/// at once.
pub async fn async_workers_recover_forgotten_results_after_a_restart(
    probe_worker: Option<std::path::PathBuf>,
) {
    let server = super::pg_server::PgServer::start()
        .unwrap_or_else(|e| panic!("a throwaway PostgreSQL server (initdb, pg_ctl): {e}"));
    super::async_restart_case(&server, harness_at, probe_worker).await;
}

crate::special!(
    "postgres",
    async_workers_recover_forgotten_results_after_a_restart
);

/// A schema migrated by a newer errand (a version this one does not know) is
/// refused with a conflict naming the version, and left as it was.
pub async fn a_newer_schema_is_refused(_: Option<std::path::PathBuf>) {
    let h = harness().await;
    let schema = h.namespace.clone().unwrap_or_else(|| panic!("a schema"));
    h.store
        .enqueue(errand::store::EnqueueParams {
            jobs: vec![NewJob::new("noop", serde_json::json!(null))],
            now: Utc::now(),
            max_input_bytes: 1000,
        })
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"));
    let app = PgPool::connect(&h.url)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", h.url));
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO \"{schema}\".migrations (version, name) VALUES (999, 'from_the_future')"
    )))
    .execute(&app)
    .await
    .unwrap_or_else(|e| panic!("record version 999: {e}"));
    let opened = PgStore::connect_with(
        PgConnectOptions::from_str(&h.url).unwrap_or_else(|e| panic!("{}: {e}", h.url)),
        PgOptions {
            schema: schema.clone(),
            ..PgOptions::default()
        },
    )
    .await;
    let Err(e) = opened else {
        panic!("a schema at version 999 was accepted");
    };
    assert!(matches!(e, Error::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("999"), "{e}");
    let jobs: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{schema}\".jobs"
    )))
    .fetch_one(&app)
    .await
    .unwrap_or_else(|e| panic!("count jobs: {e}"));
    assert_eq!(jobs, 1, "the refused open changed the jobs table");
    h.finish().await;
}

crate::special!("postgres", a_newer_schema_is_refused);

/// Migration 18 counts the finished jobs a store already holds: with its
/// counts and triggers dropped and the migration applied again, `stats`
/// still equals a count of every job.
pub async fn the_job_counts_migration_counts_the_jobs_there(_: Option<std::path::PathBuf>) {
    let mut h = harness().await;
    let schema = h.namespace.clone().unwrap_or_else(|| panic!("a schema"));
    let now = crate::cases::t0();
    crate::cases::admin::finish_jobs_of_every_kind(&h, now).await;
    let app = PgPool::connect(&h.url)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", h.url));
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP TRIGGER jobs_counted_moved ON \"{schema}\".jobs;
         DROP TRIGGER jobs_counted_deleted ON \"{schema}\".jobs;
         DROP FUNCTION \"{schema}\".job_counts_moved();
         DROP FUNCTION \"{schema}\".job_counts_deleted();
         DROP TABLE \"{schema}\".job_counts, \"{schema}\".job_count_changes;
         DELETE FROM \"{schema}\".migrations WHERE version = 18"
    )))
    .execute(&app)
    .await
    .unwrap_or_else(|e| panic!("undo migration 18: {e}"));
    h.store = Arc::new(
        PgStore::connect_with(
            PgConnectOptions::from_str(&h.url).unwrap_or_else(|e| panic!("{}: {e}", h.url)),
            PgOptions {
                schema,
                ..PgOptions::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("migrate again: {e}")),
    );
    crate::cases::admin::assert_counts_match(&h, now, "migrated again").await;
    h.finish().await;
}

crate::special!("postgres", the_job_counts_migration_counts_the_jobs_there);

/// A worker's maintenance folds the count changes that statements append
/// into the counts: the changes are gone, `stats` still equals a count of
/// every job, and a second fold finds nothing to do.
pub async fn count_changes_are_folded_into_the_counts(_: Option<std::path::PathBuf>) {
    let h = harness().await;
    let schema = h.namespace.clone().unwrap_or_else(|| panic!("a schema"));
    let now = crate::cases::t0();
    crate::cases::admin::finish_jobs_of_every_kind(&h, now).await;
    let app = PgPool::connect(&h.url)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", h.url));
    let changes = || async {
        sqlx::query_scalar::<_, i64>(AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{schema}\".job_count_changes"
        )))
        .fetch_one(&app)
        .await
        .unwrap_or_else(|e| panic!("count changes: {e}"))
    };
    assert!(changes().await > 0, "finalizes append changes");
    let worker = errand::Worker::builder(Arc::clone(&h.store))
        .register(crate::jobs::noop::job())
        .build()
        .unwrap_or_else(|e| panic!("build the worker: {e}"));
    let folded = |done: Vec<(&'static str, errand::maintenance::Report)>| {
        done.into_iter()
            .find(|(name, _)| *name == "postgres-count-fold")
            .map_or(0, |(_, report)| report.count)
    };
    assert!(folded(worker.maintain(now).await) > 0);
    assert_eq!(changes().await, 0);
    crate::cases::admin::assert_counts_match(&h, now, "folded").await;
    assert_eq!(
        folded(worker.maintain(now).await),
        0,
        "nothing left to fold"
    );
    crate::cases::admin::assert_counts_match(&h, now, "folded twice").await;
    h.finish().await;
}

crate::special!("postgres", count_changes_are_folded_into_the_counts);
