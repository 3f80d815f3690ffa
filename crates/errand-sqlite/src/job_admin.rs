//! [`JobAdmin`] for [`SqliteStore`]: reading and managing jobs.

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
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;

use crate::SqliteStore;
use crate::error::db_error;
use crate::job_counts::{self, FinishedMoves};
use crate::queries;
use crate::rows::{SqliteColumns, job_row, micros};
use crate::store::ids_json;

#[async_trait]
impl JobAdmin for SqliteStore {
    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        let row = sqlx::query(queries::GET)
            .bind(params.id.0)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| job_row(&row, params.now)).transpose()
    }

    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        let sql = match params.walk() {
            ListWalk::UniqueKey(_) => queries::LIST_BY_UNIQUE_KEY,
            ListWalk::Batch(_) => queries::LIST_BY_BATCH,
            ListWalk::Running => queries::LIST_RUNNING,
            ListWalk::Waiting => queries::LIST_WAITING,
            ListWalk::Ended(_) => queries::LIST_ENDED,
            ListWalk::Errors => queries::LIST_WITH_ERRORS,
            ListWalk::Kind(_) => queries::LIST_BY_KIND,
            ListWalk::Tenant(_) => queries::LIST_BY_TENANT,
            ListWalk::Queue(_) => queries::LIST_BY_QUEUE,
            ListWalk::All => queries::LIST,
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
            .bind(micros(params.now))
            .bind(params.error_contains.as_deref())
            .fetch_all(&self.inner.reader)
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
        self.woke(true);
        Ok(())
    }

    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        let rows = sqlx::query(queries::STATS)
            .bind(micros(params.now))
            .bind(params.tenant.as_deref())
            .bind(params.per_tenant)
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        let counts = rows
            .iter()
            .map(|row| state_count(&SqliteColumns(row)))
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
            self.woke(true);
        }
        Ok(job)
    }

    async fn prune(&self, params: PruneParams) -> Result<PruneOutcome> {
        params.validate()?;
        let mut tx = self.begin_write().await?;
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(queries::PRUNE)
            .bind(params.state.as_str())
            .bind(micros(params.finished_before))
            .bind(i64::from(params.limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut moves = FinishedMoves::default();
        for (_, queue, tenant) in &rows {
            moves.add(queue, tenant.as_deref(), params.state.as_str(), -1);
        }
        moves.write(&mut tx).await?;
        tx.commit().await.map_err(db_error)?;
        let ids = rows.into_iter().map(|(id, ..)| id).collect();
        Ok(PruneOutcome::of(ids, params.limit))
    }

    async fn queue_depths(&self, now: DateTime<Utc>) -> Result<Vec<QueueDepth>> {
        let rows = sqlx::query(queries::QUEUE_DEPTHS)
            .bind(micros(now))
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| queue_depth(&SqliteColumns(row)))
            .collect()
    }
}

impl SqliteStore {
    async fn admin_tx(&self) -> Result<SqliteAdminTx> {
        Ok(SqliteAdminTx {
            tx: self.begin_write().await?,
        })
    }
}

/// The checked admin writes on SQLite: the states are read in the write
/// transaction, so they hold until it commits.
struct SqliteAdminTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
}

impl AdminTx for SqliteAdminTx {
    async fn job_states(
        &mut self,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<(JobId, JobState)>> {
        let rows = sqlx::query(queries::JOB_STATES)
            .bind(ids_json(ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| id_and_state(&SqliteColumns(row), now))
            .collect()
    }

    async fn cancel_waiting(&mut self, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(queries::CANCEL_WAITING)
            .bind(ids_json(ids))
            .bind(micros(now))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_error)?;
        let mut moves = FinishedMoves::default();
        for (_, queue, tenant) in &rows {
            moves.add(queue, tenant.as_deref(), "cancelled", 1);
        }
        moves.write(&mut self.tx).await
    }

    async fn request_cancel(&mut self, ids: &[i64]) -> Result<()> {
        self.run(sqlx::query(queries::CANCEL_RUNNING).bind(ids_json(ids)))
            .await
    }

    async fn retry(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        job_counts::leaving(&mut self.tx, id).await?;
        self.run(sqlx::query(queries::RETRY).bind(id).bind(micros(now)))
            .await
    }

    async fn delete(&mut self, id: i64) -> Result<()> {
        job_counts::leaving(&mut self.tx, id).await?;
        self.run(sqlx::query(queries::DELETE).bind(id)).await
    }

    async fn reschedule(&mut self, params: &RescheduleParams) -> Result<()> {
        let query = sqlx::query(queries::RESCHEDULE)
            .bind(params.id.0)
            .bind(params.run_at.map(micros))
            .bind(params.priority)
            .bind(params.queue.clone());
        self.run(query).await
    }

    async fn get(&mut self, id: i64, now: DateTime<Utc>) -> Result<JobRow> {
        let row = sqlx::query(queries::GET)
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

impl SqliteAdminTx {
    async fn run(&mut self, query: Query<'_, sqlx::Sqlite, SqliteArguments>) -> Result<()> {
        query.execute(&mut *self.tx).await.map_err(db_error)?;
        Ok(())
    }
}
