use std::future::Future;

use chrono::{DateTime, Utc};
use errand_core::validate::DEFAULT_MAX_INPUT_BYTES;
use errand_core::{EnqueueBuilder, Enqueued, Error, Job, JobId, NewJob, Result};
use errand_sql::EnqueuePlan;
use errand_sql::enqueue::{Bulk, BulkRow};
use sqlx::SqliteConnection;

use crate::SqliteStore;
use crate::error::db_error;
use crate::queries;
use crate::rows::micros;

/// Inserts validated jobs. Callers run it inside a transaction unless
/// its plan says one statement does it.
pub(crate) async fn insert_jobs(
    conn: &mut SqliteConnection,
    jobs: &[NewJob],
    mut plan: EnqueuePlan,
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>> {
    for bulk in plan.bulk() {
        let (done, slots) = match bulk {
            Bulk::Shared(run) => {
                let job = &jobs[run[0]];
                let inputs: Vec<&serde_json::Value> = run.iter().map(|&i| &jobs[i].input).collect();
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
                (done, run)
            }
            Bulk::PerRow(slots) => {
                let rows: Vec<BulkRow<'_, i64>> = slots
                    .iter()
                    .map(|&i| BulkRow::new(&jobs[i], now, micros))
                    .collect();
                let done = sqlx::query(queries::ENQUEUE_BULK)
                    .bind(serde_json::to_string(&rows)?)
                    .bind(micros(now))
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                (done, slots)
            }
        };
        plan.rows_stored(&slots, done.last_insert_rowid(), done.rows_affected())?;
    }
    for i in plan.one_by_one() {
        plan.set(i, insert_one(conn, &jobs[i], now).await?);
    }
    plan.finish()
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
    let plan = EnqueuePlan::new(&jobs);
    insert_jobs(conn, &jobs, plan, now).await
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
