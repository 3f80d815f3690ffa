use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use errand_core::validate::DEFAULT_MAX_INPUT_BYTES;
use errand_core::{EnqueueBuilder, Enqueued, Error, Job, JobId, NewJob, Result};
use errand_sql::EnqueuePlan;
use errand_sql::enqueue::{Bulk, BulkRow};
use sqlx::PgConnection;

use crate::PgStore;
use crate::error::db_error;
use crate::queries::Queries;

fn meta_json(meta: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(
        meta.iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect(),
    )
}

/// Inserts validated jobs on a connection (inside a transaction unless
/// its plan says one statement does it).
pub(crate) async fn insert_jobs(
    conn: &mut PgConnection,
    q: &Queries,
    jobs: &[NewJob],
    mut plan: EnqueuePlan,
    now: DateTime<Utc>,
) -> Result<Vec<Enqueued>> {
    for bulk in plan.bulk() {
        let (ids, slots): (Vec<i64>, Vec<usize>) = match bulk {
            Bulk::Shared(run) => {
                let job = &jobs[run[0]];
                let inputs =
                    serde_json::Value::Array(run.iter().map(|&i| jobs[i].input.clone()).collect());
                let ids = sqlx::query_scalar(q.enqueue_shared.clone())
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
                (ids, run)
            }
            Bulk::PerRow(slots) => {
                let rows: Vec<BulkRow<'_, DateTime<Utc>>> = slots
                    .iter()
                    .map(|&i| BulkRow::new(&jobs[i], now, |t| t))
                    .collect();
                let ids = sqlx::query_scalar(q.enqueue_bulk.clone())
                    .bind(serde_json::to_value(&rows)?)
                    .bind(now)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_error)?;
                (ids, slots)
            }
        };
        plan.ids_stored(&slots, ids)?;
    }
    for i in plan.one_by_one() {
        plan.set(i, insert_one(conn, q, &jobs[i], now).await?);
    }
    plan.finish()
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
    let plan = EnqueuePlan::new(&jobs);
    insert_jobs(conn, q, &jobs, plan, now).await
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
