use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use errand_core::store::{runs_pay_off, shape_runs};
use errand_core::validate::DEFAULT_MAX_INPUT_BYTES;
use errand_core::{EnqueueBuilder, Enqueued, Error, Job, JobId, NewJob, Result};
use serde::Serialize;
use sqlx::PgConnection;

use crate::PgStore;
use crate::error::db_error;
use crate::queries::Queries;

#[derive(Serialize)]
struct BulkRow<'a> {
    kind: &'a str,
    queue: &'a str,
    priority: i16,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    input: &'a serde_json::Value,
    max_attempts: u32,
    run_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron_fire_at: Option<DateTime<Utc>>,
    meta: &'a BTreeMap<String, String>,
}

fn meta_json(meta: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(
        meta.iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect(),
    )
}

fn assign(ids: Vec<i64>, slots: &[usize], results: &mut [Option<Enqueued>]) -> Result<()> {
    if ids.len() != slots.len() {
        return Err(Error::backend_msg(format!(
            "bulk insert stored {} of {} jobs",
            ids.len(),
            slots.len()
        )));
    }
    let mut ids = ids;
    // Rows were inserted in input order from one identity sequence.
    ids.sort_unstable();
    for (slot, id) in slots.iter().zip(ids) {
        results[*slot] = Some(Enqueued {
            id: JobId(id),
            duplicate: false,
        });
    }
    Ok(())
}

/// Inserts validated jobs on a connection (inside a transaction when several
/// statements must be atomic).
pub(crate) async fn insert_jobs(
    conn: &mut PgConnection,
    q: &Queries,
    jobs: &[NewJob],
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>> {
    let mut results: Vec<Option<Enqueued>> = vec![None; jobs.len()];
    let plain: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].unique.is_none())
        .collect();
    if plain.len() > 1 {
        let runs = shape_runs(jobs, &plain);
        if runs_pay_off(&runs, plain.len()) {
            for run in runs.iter().filter(|run| run.len() > 1) {
                let job = &jobs[run[0]];
                let inputs =
                    serde_json::Value::Array(run.iter().map(|&i| jobs[i].input.clone()).collect());
                let ids: Vec<i64> = sqlx::query_scalar(q.enqueue_shared.clone())
                    .bind(inputs)
                    .bind(&job.kind)
                    .bind(&job.queue)
                    .bind(job.priority)
                    .bind(job.tenant.as_deref())
                    .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
                    .bind(job.run_at.unwrap_or(now))
                    .bind(now)
                    .bind(job.batch_id)
                    .bind(job.cron.as_ref().map(|c| c.name.as_str()))
                    .bind(job.cron.as_ref().map(|c| c.fire_at))
                    .bind(meta_json(&job.meta))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_error)?;
                assign(ids, run, &mut results)?;
            }
        } else {
            let rows: Vec<BulkRow<'_>> = plain
                .iter()
                .map(|&i| {
                    let job = &jobs[i];
                    BulkRow {
                        kind: &job.kind,
                        queue: &job.queue,
                        priority: job.priority,
                        tenant: job.tenant.as_deref(),
                        input: &job.input,
                        max_attempts: job.max_attempts,
                        run_at: job.run_at.unwrap_or(now),
                        batch_id: job.batch_id,
                        cron_name: job.cron.as_ref().map(|c| c.name.as_str()),
                        cron_fire_at: job.cron.as_ref().map(|c| c.fire_at),
                        meta: &job.meta,
                    }
                })
                .collect();
            let ids: Vec<i64> = sqlx::query_scalar(q.enqueue_bulk.clone())
                .bind(serde_json::to_value(&rows)?)
                .bind(now)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_error)?;
            assign(ids, &plain, &mut results)?;
        }
    }
    for (i, job) in jobs.iter().enumerate() {
        if results[i].is_none() {
            results[i] = Some(insert_one(conn, q, job, now).await?);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// True when `insert_jobs` needs a single statement (atomic on its own).
pub(crate) fn single_statement(jobs: &[NewJob]) -> bool {
    if jobs.iter().any(|job| job.unique.is_some()) {
        return false;
    }
    let all: Vec<usize> = (0..jobs.len()).collect();
    let runs = shape_runs(jobs, &all);
    jobs.len() <= 1 || runs.len() == 1 || !runs_pay_off(&runs, jobs.len())
}

/// Attempts of a keyed insert before giving up: each new attempt follows a
/// holder committed in the instant between the insert and its lookup, so
/// more than two mean the key changes hands continuously.
const UNIQUE_ATTEMPTS: usize = 20;

async fn insert_one(
    conn: &mut PgConnection,
    q: &Queries,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<Enqueued> {
    let (unique_key, unique_scope, unique_until) = match &job.unique {
        None => (None, None, None),
        Some(unique) => {
            sqlx::query(q.unique_release_expired.clone())
                .bind(&unique.key)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            let (scope, until) = (unique.scope_name(), unique.held_until(now)?);
            (Some(unique.key.as_str()), Some(scope), until)
        }
    };
    let statement = if unique_key.is_some() {
        q.enqueue_unique.clone()
    } else {
        q.enqueue_one.clone()
    };
    for _ in 0..UNIQUE_ATTEMPTS {
        let row: Option<(i64, bool)> = sqlx::query_as(statement.clone())
            .bind(&job.kind)
            .bind(&job.queue)
            .bind(job.priority)
            .bind(job.tenant.as_deref())
            .bind(&job.input)
            .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
            .bind(job.run_at.unwrap_or(now))
            .bind(now)
            .bind(unique_key)
            .bind(unique_scope)
            .bind(unique_until)
            .bind(job.batch_id)
            .bind(job.cron.as_ref().map(|c| c.name.as_str()))
            .bind(job.cron.as_ref().map(|c| c.fire_at))
            .bind(meta_json(&job.meta))
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        if let Some((id, duplicate)) = row {
            return Ok(Enqueued {
                id: JobId(id),
                duplicate,
            });
        }
    }
    Err(Error::Unavailable {
        message: format!(
            "unique key {:?} changed hands {UNIQUE_ATTEMPTS} times during one enqueue; nothing was enqueued",
            unique_key.unwrap_or_default()
        ),
        source: None,
    })
}

/// Validates and inserts on the application's connection.
pub(crate) async fn enqueue_all_in(
    conn: &mut PgConnection,
    q: &Queries,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>> {
    for job in &jobs {
        job.validate(DEFAULT_MAX_INPUT_BYTES)?;
    }
    insert_jobs(conn, q, &jobs, now).await
}

/// Sends a typed job through the application's own PostgreSQL transaction,
/// into the schema of the given store: `job.enqueue_in_pg(&store, &mut *tx)`.
/// The same as [`PgStore::enqueue_in`](crate::PgStore::enqueue_in), in
/// builder position; named apart from `SqliteEnqueueExt::enqueue_in_sqlite`
/// so that an application using both stores can import both. The job
/// exists, and workers are notified, only if the transaction commits.
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
/// use errand_postgres::{PgEnqueueExt, PgStore};
///
/// # async fn signup(store: PgStore, pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// let mut tx = pool.begin().await?;
/// EnqueueBuilder::<Welcome>::new("ada@example.com".into())
///     .enqueue_in_pg(&store, &mut *tx)
///     .await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub trait PgEnqueueExt {
    /// Inserts the job on `conn` into `store`'s schema; it exists once the
    /// surrounding transaction commits.
    fn enqueue_in_pg(
        self,
        store: &PgStore,
        conn: &mut PgConnection,
    ) -> impl Future<Output = Result<Enqueued>> + Send;
}

impl<J: Job> PgEnqueueExt for EnqueueBuilder<J> {
    async fn enqueue_in_pg(self, store: &PgStore, conn: &mut PgConnection) -> Result<Enqueued> {
        store.enqueue_in(conn, self).await
    }
}
