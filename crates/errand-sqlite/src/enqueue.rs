use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use errand_core::store::{runs_pay_off, shape_runs};
use errand_core::validate::DEFAULT_MAX_INPUT_BYTES;
use errand_core::{EnqueueBuilder, Enqueued, Error, Job, JobId, NewJob, Result};
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::SqliteStore;
use crate::error::db_error;
use crate::queries;
use crate::rows::micros;

#[derive(Serialize)]
struct BulkRow<'a> {
    kind: &'a str,
    queue: &'a str,
    priority: i16,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    input: &'a serde_json::Value,
    run_at: i64,
    max_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron_fire_at: Option<i64>,
    meta: &'a BTreeMap<String, String>,
}

impl<'a> BulkRow<'a> {
    fn new(job: &'a NewJob, now: DateTime<Utc>) -> Self {
        BulkRow {
            kind: &job.kind,
            queue: &job.queue,
            priority: job.priority,
            tenant: job.tenant.as_deref(),
            input: &job.input,
            run_at: micros(job.run_at.unwrap_or(now)),
            max_attempts: job.max_attempts,
            batch_id: job.batch_id,
            cron_name: job.cron.as_ref().map(|c| c.name.as_str()),
            cron_fire_at: job.cron.as_ref().map(|c| micros(c.fire_at)),
            meta: &job.meta,
        }
    }
}

/// How the jobs without unique keys are written.
enum Plan {
    /// One statement per run of same-shaped consecutive jobs.
    Shared(Vec<Vec<usize>>),
    /// One statement with every field of every job in a JSON array.
    PerRow,
}

fn plan(jobs: &[NewJob], plain: &[usize]) -> Plan {
    let runs = shape_runs(jobs, plain);
    if runs_pay_off(&runs, plain.len()) {
        Plan::Shared(runs)
    } else {
        Plan::PerRow
    }
}

/// True when `insert_jobs` writes these jobs with a single statement, which is
/// atomic without an explicit transaction.
pub(crate) fn single_statement(jobs: &[NewJob]) -> bool {
    if jobs.iter().any(|job| job.unique.is_some()) {
        return false;
    }
    let plain: Vec<usize> = (0..jobs.len()).collect();
    jobs.len() <= 1
        || matches!(plan(jobs, &plain), Plan::PerRow)
        || matches!(plan(jobs, &plain), Plan::Shared(runs) if runs.len() == 1)
}

fn consecutive(first_id: i64, slots: &[usize], results: &mut [Option<Enqueued>]) {
    for (offset, slot) in slots.iter().enumerate() {
        results[*slot] = Some(Enqueued {
            id: JobId(first_id + i64::try_from(offset).unwrap_or(0)),
            duplicate: false,
        });
    }
}

fn check_count(stored: u64, expected: usize) -> Result<i64> {
    let stored = usize::try_from(stored).unwrap_or(0);
    if stored != expected {
        return Err(Error::backend_msg(format!(
            "bulk insert stored {stored} of {expected} jobs"
        )));
    }
    Ok(i64::try_from(stored).unwrap_or(0))
}

/// Inserts validated jobs. Callers run it inside a transaction unless
/// [`single_statement`] says one statement does it.
pub(crate) async fn insert_jobs(
    conn: &mut SqliteConnection,
    jobs: &[NewJob],
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>> {
    let mut results: Vec<Option<Enqueued>> = vec![None; jobs.len()];
    let plain: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].unique.is_none())
        .collect();
    if plain.len() > 1 {
        match plan(jobs, &plain) {
            Plan::Shared(runs) => {
                for run in runs.iter().filter(|run| run.len() > 1) {
                    let job = &jobs[run[0]];
                    let inputs: Vec<&serde_json::Value> =
                        run.iter().map(|&i| &jobs[i].input).collect();
                    let done = sqlx::query(queries::ENQUEUE_SHARED)
                        .bind(serde_json::to_string(&inputs)?)
                        .bind(&job.kind)
                        .bind(&job.queue)
                        .bind(job.priority)
                        .bind(job.tenant.as_deref())
                        .bind(i64::from(job.max_attempts))
                        .bind(micros(job.run_at.unwrap_or(now)))
                        .bind(micros(now))
                        .bind(job.batch_id)
                        .bind(job.cron.as_ref().map(|c| c.name.as_str()))
                        .bind(job.cron.as_ref().map(|c| micros(c.fire_at)))
                        .bind(serde_json::to_string(&job.meta)?)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_error)?;
                    let n = check_count(done.rows_affected(), run.len())?;
                    consecutive(done.last_insert_rowid() - n + 1, run, &mut results);
                }
            }
            Plan::PerRow => {
                let rows: Vec<BulkRow<'_>> =
                    plain.iter().map(|&i| BulkRow::new(&jobs[i], now)).collect();
                let done = sqlx::query(queries::ENQUEUE_BULK)
                    .bind(serde_json::to_string(&rows)?)
                    .bind(micros(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                let n = check_count(done.rows_affected(), plain.len())?;
                consecutive(done.last_insert_rowid() - n + 1, &plain, &mut results);
            }
        }
    }
    for (i, job) in jobs.iter().enumerate() {
        if results[i].is_none() {
            results[i] = Some(insert_one(conn, job, now).await?);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

async fn insert_one(
    conn: &mut SqliteConnection,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<Enqueued> {
    let (unique_key, unique_scope, unique_until) = match &job.unique {
        None => {
            // No RETURNING row to ship back: the id is last_insert_rowid().
            let done = sqlx::query(queries::ENQUEUE_PLAIN)
                .bind(&job.kind)
                .bind(&job.queue)
                .bind(job.priority)
                .bind(job.tenant.as_deref())
                .bind(serde_json::to_string(&job.input)?)
                .bind(i64::from(job.max_attempts))
                .bind(micros(job.run_at.unwrap_or(now)))
                .bind(micros(now))
                .bind(job.batch_id)
                .bind(job.cron.as_ref().map(|c| c.name.as_str()))
                .bind(job.cron.as_ref().map(|c| micros(c.fire_at)))
                .bind(serde_json::to_string(&job.meta)?)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            return Ok(Enqueued {
                id: JobId(done.last_insert_rowid()),
                duplicate: false,
            });
        }
        Some(unique) => {
            sqlx::query(queries::UNIQUE_RELEASE_EXPIRED)
                .bind(&unique.key)
                .bind(micros(now))
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            let (scope, until) = (unique.scope_name(), unique.held_until(now)?.map(micros));
            (Some(unique.key.as_str()), Some(scope), until)
        }
    };
    let id: Option<i64> = sqlx::query_scalar(queries::ENQUEUE_ONE)
        .bind(&job.kind)
        .bind(&job.queue)
        .bind(job.priority)
        .bind(job.tenant.as_deref())
        .bind(serde_json::to_string(&job.input)?)
        .bind(i64::from(job.max_attempts))
        .bind(micros(job.run_at.unwrap_or(now)))
        .bind(micros(now))
        .bind(unique_key)
        .bind(unique_scope)
        .bind(unique_until)
        .bind(job.batch_id)
        .bind(job.cron.as_ref().map(|c| c.name.as_str()))
        .bind(job.cron.as_ref().map(|c| micros(c.fire_at)))
        .bind(serde_json::to_string(&job.meta)?)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    if let Some(id) = id {
        return Ok(Enqueued {
            id: JobId(id),
            duplicate: false,
        });
    }
    let holder: Option<i64> = sqlx::query_scalar(queries::UNIQUE_HOLDER)
        .bind(unique_key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    holder
        .map(|id| Enqueued {
            id: JobId(id),
            duplicate: true,
        })
        .ok_or_else(|| Error::backend_msg("insert skipped but no job holds its unique key"))
}

/// Validates and inserts jobs on the application's own connection.
pub(crate) async fn enqueue_all_in(
    conn: &mut SqliteConnection,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>> {
    for job in &jobs {
        job.validate(DEFAULT_MAX_INPUT_BYTES)?;
    }
    insert_jobs(conn, &jobs, now).await
}

/// Sends a typed job through the application's own SQLite transaction, for
/// the given store: `job.enqueue_in_sqlite(&store, &mut *tx)`. The same as
/// [`SqliteStore::enqueue_in`](crate::SqliteStore::enqueue_in), in builder
/// position; named apart from `PgEnqueueExt::enqueue_in_pg` so that an
/// application using both stores can import both.
///
/// ```no_run
/// # use errand_core::{EnqueueBuilder, Job, JobContext, JobError};
/// # struct Welcome;
/// # impl Job for Welcome {
/// #     const KIND: &'static str = "welcome";
/// #     type Input = String;
/// #     type Output = ();
/// #     async fn run(&self, _: String, _: JobContext) -> Result<(), JobError> { Ok(()) }
/// # }
/// use errand_sqlite::{SqliteEnqueueExt, SqliteStore};
///
/// # async fn signup(store: SqliteStore, pool: sqlx::SqlitePool) -> Result<(), Box<dyn std::error::Error>> {
/// let mut tx = pool.begin().await?;
/// // ... insert the user with &mut *tx ...
/// EnqueueBuilder::<Welcome>::new("ada@example.com".into())
///     .enqueue_in_sqlite(&store, &mut *tx)
///     .await?;
/// tx.commit().await?;
/// store.notify_committed(); // wake this process's workers now
/// # Ok(()) }
/// ```
pub trait SqliteEnqueueExt {
    /// Inserts the job on `conn` for `store`; it exists once the surrounding
    /// transaction commits.
    fn enqueue_in_sqlite(
        self,
        store: &SqliteStore,
        conn: &mut SqliteConnection,
    ) -> impl Future<Output = Result<Enqueued>> + Send;
}

impl<J: Job> SqliteEnqueueExt for EnqueueBuilder<J> {
    async fn enqueue_in_sqlite(
        self,
        store: &SqliteStore,
        conn: &mut SqliteConnection,
    ) -> Result<Enqueued> {
        store.enqueue_in(conn, self).await
    }
}
