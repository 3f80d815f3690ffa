//! [`JobAdmin`] for [`PgStore`]: reading and managing jobs.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::store::{
    CancelParams, DeleteParams, GetParams, ListWalk, PruneOutcome, PruneParams, QueueDepth,
    RescheduleParams, RetryParams, StatsParams,
};
use errand_core::{CancelOutcome, JobAdmin, JobId, JobRow, JobState, ListParams, Result, Stats};
use errand_sql::AdminTx;
use errand_sql::admin;
use errand_sql::rows::{id_and_state, queue_depth, state_count};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;

use crate::PgStore;
use crate::error::db_error;
use crate::queries::Queries;
use crate::rows::{PgColumns, job_row};

#[async_trait]
impl JobAdmin for PgStore {
    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        let row = sqlx::query(self.inner.q.get.clone())
            .bind(params.id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| job_row(&row, params.now)).transpose()
    }

    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        let q = &self.inner.q;
        let sql = match params.walk() {
            ListWalk::UniqueKey(_) => q.list_by_unique_key.clone(),
            ListWalk::Batch(_) => q.list_by_batch.clone(),
            ListWalk::Running => q.list_running.clone(),
            ListWalk::Waiting => q.list_waiting.clone(),
            ListWalk::Ended(_) => q.list_ended.clone(),
            ListWalk::Errors => q.list_with_errors.clone(),
            ListWalk::Kind(_) => q.list_by_kind.clone(),
            ListWalk::Tenant(_) => q.list_by_tenant.clone(),
            ListWalk::Queue(_) => q.list_by_queue.clone(),
            ListWalk::All => q.list.clone(),
        };
        let rows = sqlx::query(sql)
            .bind(params.kind.as_deref())
            .bind(params.queue.as_deref())
            .bind(params.tenant.as_deref())
            .bind(params.batch_id)
            .bind(params.state.map(|s| s.as_str()))
            .bind(params.unique_key.as_deref())
            .bind(errand_sql::admin::list_below(&params))
            .bind(i64::from(params.limit))
            .bind(params.now)
            .bind(params.error_contains.as_deref())
            // On the job pool: index walks planned once, without JIT (the
            // general pool JIT-compiled a listing by kind for 30 ms).
            .fetch_all(&self.inner.jobs)
            .await
            .map_err(db_error)?;
        rows.iter().map(|row| job_row(row, params.now)).collect()
    }

    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome> {
        if params.ids.is_empty() {
            return Ok(CancelOutcome::default());
        }
        admin::cancel(self.admin_tx().await?, &params).await
    }

    async fn retry(&self, params: RetryParams) -> Result<()> {
        admin::retry(self.admin_tx().await?, &params).await?;
        self.notify();
        Ok(())
    }

    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        let rows = sqlx::query(self.inner.q.stats.clone())
            .bind(params.now)
            .bind(params.tenant.as_deref())
            .bind(params.per_tenant)
            // On the job pool: index walks and small tables, planned once,
            // without JIT (a stale estimate of the waiting jobs made the
            // general pool compile this statement, for ten times its run).
            .fetch_all(&self.inner.jobs)
            .await
            .map_err(db_error)?;
        let counts = rows
            .iter()
            .map(|row| state_count(&PgColumns(row)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Stats { counts })
    }

    async fn delete(&self, params: DeleteParams) -> Result<()> {
        admin::delete(self.admin_tx().await?, &params).await
    }

    async fn reschedule(&self, params: RescheduleParams) -> Result<JobRow> {
        params.validate()?;
        let job = admin::reschedule(self.admin_tx().await?, &params).await?;
        if job.run_at <= params.now {
            self.notify();
        }
        Ok(job)
    }

    async fn prune(&self, params: PruneParams) -> Result<PruneOutcome> {
        params.validate()?;
        let ids: Vec<i64> = sqlx::query_scalar(self.inner.q.prune.clone())
            .bind(params.state.as_str())
            .bind(params.finished_before)
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(PruneOutcome::of(ids, params.limit))
    }

    async fn queue_depths(&self, now: DateTime<Utc>) -> Result<Vec<QueueDepth>> {
        let rows = sqlx::query(self.inner.q.queue_depths.clone())
            .bind(now)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| queue_depth(&PgColumns(row)))
            .collect()
    }
}

impl PgStore {
    async fn admin_tx(&self) -> Result<PgAdminTx<'_>> {
        Ok(PgAdminTx {
            tx: self.inner.pool.begin().await.map_err(db_error)?,
            q: &self.inner.q,
        })
    }
}

/// The checked admin writes on PostgreSQL: the states read lock their rows
/// until the transaction ends, so that they still hold when it writes.
struct PgAdminTx<'a> {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    q: &'a Queries,
}

impl AdminTx for PgAdminTx<'_> {
    async fn job_states(
        &mut self,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<(JobId, JobState)>> {
        let rows = sqlx::query(self.q.job_states.clone())
            .bind(ids)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| id_and_state(&PgColumns(row), now))
            .collect()
    }

    async fn cancel_waiting(&mut self, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
        self.run(
            sqlx::query(self.q.cancel_waiting.clone())
                .bind(ids)
                .bind(now),
        )
        .await
    }

    async fn request_cancel(&mut self, ids: &[i64]) -> Result<()> {
        self.run(sqlx::query(self.q.cancel_running.clone()).bind(ids))
            .await
    }

    async fn retry(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.run(sqlx::query(self.q.retry.clone()).bind(id).bind(now))
            .await
    }

    async fn delete(&mut self, id: i64) -> Result<()> {
        self.run(sqlx::query(self.q.delete.clone()).bind(id)).await
    }

    async fn reschedule(&mut self, params: &RescheduleParams) -> Result<()> {
        let query = sqlx::query(self.q.reschedule.clone())
            .bind(params.id.0)
            .bind(params.run_at)
            .bind(params.priority)
            .bind(params.queue.clone());
        self.run(query).await
    }

    async fn get(&mut self, id: i64, now: DateTime<Utc>) -> Result<JobRow> {
        let row = sqlx::query(self.q.get.clone())
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_error)?;
        job_row(&row, now)
    }

    async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(db_error)
    }
}

impl PgAdminTx<'_> {
    async fn run(&mut self, query: Query<'_, sqlx::Postgres, PgArguments>) -> Result<()> {
        query.execute(&mut *self.tx).await.map_err(db_error)?;
        Ok(())
    }
}
