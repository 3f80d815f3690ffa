//! [`BatchStore`] for [`SqliteStore`]: the `errand_batches` table, whose
//! counts and continuations the triggers of migration 4 keep.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::store::{
    AppendParams, Batch, BatchCancelOutcome, BatchCreated, BatchId, BatchStore, BatchTotals,
    CancelBatchParams, CreateBatchParams, ListBatchesParams, MAX_BATCH_PAGE, PruneBatchesParams,
};
use errand_core::{Enqueued, NewJob, Result, validate};
use errand_sql::batch::{self, BatchCancelStatements, BatchOpen, continuations_json};
use errand_sql::{BatchStatements, EnqueuePlan};

use crate::SqliteStore;
use crate::enqueue::insert_jobs;
use crate::error::{db_error, write_once};
use crate::job_counts::FinishedMoves;
use crate::queries;
use crate::rows::{SqliteColumns, micros};

/// The statements of a batch on SQLite, in one write transaction.
struct SqliteBatch<'t> {
    conn: &'t mut sqlx::SqliteConnection,
    now: DateTime<Utc>,
}

impl BatchStatements for SqliteBatch<'_> {
    async fn insert(&mut self, params: &CreateBatchParams) -> Result<i64> {
        sqlx::query_scalar(queries::BATCH_INSERT)
            .bind(params.batch.tenant.as_deref())
            .bind(continuations_json(&params.batch.continuations).to_string())
            .bind(micros(self.now))
            .fetch_one(&mut *self.conn)
            .await
            .map_err(db_error)
    }

    async fn lock(&mut self, id: BatchId) -> Result<BatchOpen> {
        let state: Option<(bool, bool)> = sqlx::query_as(queries::BATCH_LOCK)
            .bind(id.0)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db_error)?;
        Ok(match state {
            None => BatchOpen::Missing,
            Some((true, _)) => BatchOpen::Finished,
            Some((_, true)) => BatchOpen::Cancelled,
            Some((false, false)) => BatchOpen::Open,
        })
    }

    async fn insert_jobs(&mut self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        insert_jobs(&mut *self.conn, jobs, EnqueuePlan::new(jobs), self.now).await
    }

    async fn seal(&mut self, id: BatchId) -> Result<()> {
        sqlx::query(queries::BATCH_SEAL)
            .bind(id.0)
            .bind(micros(self.now))
            .execute(&mut *self.conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

impl BatchCancelStatements for SqliteBatch<'_> {
    async fn mark(&mut self, id: BatchId) -> Result<Option<i64>> {
        sqlx::query_scalar(queries::BATCH_CANCEL_MARK)
            .bind(id.0)
            .bind(micros(self.now))
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db_error)
    }

    async fn finished_count(&mut self, id: BatchId) -> Result<Option<i64>> {
        sqlx::query_scalar(queries::BATCH_FINISHED_COUNT)
            .bind(id.0)
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db_error)
    }

    async fn signal_running(&mut self, id: BatchId) -> Result<u64> {
        let done = sqlx::query(queries::BATCH_CANCEL_RUNNING)
            .bind(id.0)
            .execute(&mut *self.conn)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn cancel_waiting(&mut self, id: BatchId) -> Result<u64> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(queries::BATCH_CANCEL_WAITING)
            .bind(id.0)
            .bind(micros(self.now))
            .fetch_all(&mut *self.conn)
            .await
            .map_err(db_error)?;
        let mut moves = FinishedMoves::default();
        for (queue, tenant) in &rows {
            moves.add(queue, tenant.as_deref(), "cancelled", 1);
        }
        moves.write(self.conn).await?;
        Ok(rows.len() as u64)
    }
}

impl SqliteStore {
    /// Creates a batch with its jobs and continuations on the
    /// application's own connection (typically `&mut *tx`): it exists only
    /// if that transaction commits. Call
    /// [`notify_committed`](Self::notify_committed) after the commit to wake
    /// this process's workers at once.
    pub async fn create_batch_in(
        &self,
        conn: &mut sqlx::SqliteConnection,
        params: CreateBatchParams,
    ) -> Result<BatchCreated> {
        let now = params.now;
        batch::create(params, &mut SqliteBatch { conn, now }).await
    }
}

#[async_trait]
impl BatchStore for SqliteStore {
    async fn create_batch(&self, params: CreateBatchParams) -> Result<BatchCreated> {
        let mut tx = self.begin_write().await?;
        let now = params.now;
        let created = batch::create(params, &mut SqliteBatch { conn: &mut tx, now }).await?;
        tx.commit().await.map_err(db_error)?;
        self.woke(true);
        Ok(created)
    }

    async fn append_to_batch(&self, params: AppendParams) -> Result<Vec<Enqueued>> {
        let mut tx = self.begin_write().await?;
        let now = params.now;
        let jobs = batch::append(params, &mut SqliteBatch { conn: &mut tx, now }).await?;
        tx.commit().await.map_err(db_error)?;
        self.woke(true);
        Ok(jobs)
    }

    async fn batch(&self, id: BatchId) -> Result<Option<Batch>> {
        let row = sqlx::query(queries::BATCH_GET)
            .bind(id.0)
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(db_error)?;
        row.map(|row| batch::batch_row(&SqliteColumns(&row)))
            .transpose()
    }

    async fn cancel_batch(&self, params: CancelBatchParams) -> Result<BatchCancelOutcome> {
        let mut tx = self.begin_write().await?;
        let outcome = batch::cancel(
            &params,
            &mut SqliteBatch {
                conn: &mut tx,
                now: params.now,
            },
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        // The batch may have finished, its continuations enqueued.
        self.woke(true);
        Ok(outcome)
    }

    async fn list_batches(&self, params: ListBatchesParams) -> Result<Vec<Batch>> {
        params.validate()?;
        let start = batch::list_start(&params);
        let query = match &params.tenant {
            Some(tenant) => sqlx::query(queries::BATCH_LIST_TENANT).bind(tenant.clone()),
            None => sqlx::query(queries::BATCH_LIST),
        };
        let rows = query
            .bind(start)
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.reader)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| batch::batch_row(&SqliteColumns(row)))
            .collect()
    }

    async fn batch_totals(&self, tenant: Option<String>) -> Result<BatchTotals> {
        if let Some(tenant) = &tenant {
            errand_core::validate::tenant(tenant)?;
        }
        let query = match &tenant {
            Some(tenant) => sqlx::query(queries::BATCH_TOTALS_TENANT).bind(tenant.clone()),
            None => sqlx::query(queries::BATCH_TOTALS),
        };
        let row = query
            .fetch_one(&self.inner.reader)
            .await
            .map_err(db_error)?;
        batch::totals_row(&SqliteColumns(&row), tenant)
    }

    async fn prune_batches(&self, params: PruneBatchesParams) -> Result<Vec<BatchId>> {
        params.validate()?;
        let ids: Vec<i64> = write_once(self.inner.busy_timeout, || {
            sqlx::query_scalar(queries::BATCH_PRUNE)
                .bind(micros(params.finished_before))
                .bind(i64::from(params.limit))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        Ok(ids.into_iter().map(BatchId).collect())
    }

    async fn take_finished_batches(&self, limit: u32) -> Result<Vec<Batch>> {
        validate::page_limit("limit", limit, MAX_BATCH_PAGE)?;
        let rows = write_once(self.inner.busy_timeout, || {
            sqlx::query(queries::BATCH_TAKE_FINISHED)
                .bind(i64::from(limit))
                .fetch_all(&self.inner.writer)
        })
        .await?;
        batch::taken(rows.iter().map(|row| batch::batch_row(&SqliteColumns(row))))
    }
}
