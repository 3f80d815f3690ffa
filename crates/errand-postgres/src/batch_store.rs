//! [`BatchStore`] for [`PgStore`]: the `batches` table, whose counts and
//! continuations the statement triggers of migration 10 keep.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand_core::store::{
    AppendParams, Batch, BatchCancelOutcome, BatchCreated, BatchId, BatchStore, BatchTotals,
    CancelBatchParams, CreateBatchParams, ListBatchesParams, MAX_BATCH_PAGE, PruneBatchesParams,
};
use errand_core::{Enqueued, NewJob, Result, validate};
use errand_sql::batch::{self, BatchCancelStatements, BatchOpen, continuations_json};
use errand_sql::{BatchStatements, EnqueuePlan};

use crate::PgStore;
use crate::enqueue::insert_jobs;
use crate::error::db_error;
use crate::queries::Queries;
use crate::rows::PgColumns;

/// The statements of a batch on PostgreSQL, in one transaction.
struct PgBatch<'t> {
    conn: &'t mut sqlx::PgConnection,
    q: &'t Queries,
    now: DateTime<Utc>,
}

impl BatchStatements for PgBatch<'_> {
    async fn insert(&mut self, params: &CreateBatchParams) -> Result<i64> {
        sqlx::query_scalar(self.q.batch_insert.clone())
            .bind(params.batch.tenant.as_deref())
            .bind(continuations_json(&params.batch.continuations))
            .bind(self.now)
            .fetch_one(&mut *self.conn)
            .await
            .map_err(db_error)
    }

    async fn lock(&mut self, id: BatchId) -> Result<BatchOpen> {
        let state: Option<(bool, bool)> = sqlx::query_as(self.q.batch_lock.clone())
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
        insert_jobs(
            &mut *self.conn,
            self.q,
            jobs,
            EnqueuePlan::new(jobs),
            self.now,
        )
        .await
    }

    async fn seal(&mut self, id: BatchId) -> Result<()> {
        sqlx::query(self.q.batch_seal.clone())
            .bind(id.0)
            .bind(self.now)
            .execute(&mut *self.conn)
            .await
            .map_err(db_error)?;
        sqlx::query(self.q.batch_finish.clone())
            .bind(id.0)
            .execute(&mut *self.conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

/// The statements of cancelling a batch on PostgreSQL, each a transaction
/// of its own: the mark commits before the jobs are touched (no job joins
/// the batch meanwhile), and every statement locks jobs before the batch
/// row (in its trigger), as claims and finalizes do, so none waits on
/// another in a cycle.
struct PgCancel<'a> {
    store: &'a PgStore,
    now: DateTime<Utc>,
}

impl BatchCancelStatements for PgCancel<'_> {
    async fn mark(&mut self, id: BatchId) -> Result<Option<i64>> {
        sqlx::query_scalar(self.store.inner.q.batch_cancel_mark.clone())
            .bind(id.0)
            .bind(self.now)
            .fetch_optional(&self.store.inner.pool)
            .await
            .map_err(db_error)
    }

    async fn finished_count(&mut self, id: BatchId) -> Result<Option<i64>> {
        sqlx::query_scalar(self.store.inner.q.batch_finished_count.clone())
            .bind(id.0)
            .fetch_optional(&self.store.inner.pool)
            .await
            .map_err(db_error)
    }

    async fn signal_running(&mut self, id: BatchId) -> Result<u64> {
        let done = sqlx::query(self.store.inner.q.batch_cancel_running.clone())
            .bind(id.0)
            .execute(&self.store.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn cancel_waiting(&mut self, id: BatchId) -> Result<u64> {
        let done = sqlx::query(self.store.inner.q.batch_cancel_waiting.clone())
            .bind(id.0)
            .bind(self.now)
            .execute(&self.store.inner.pool)
            .await
            .map_err(db_error)?;
        // A batch with nothing left waiting or running finishes now (the
        // mark sealed it; the trigger saw no job move if none waited).
        sqlx::query(self.store.inner.q.batch_finish.clone())
            .bind(id.0)
            .execute(&self.store.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}

impl PgStore {
    /// Creates a batch with its jobs and continuations on the
    /// application's own connection (typically `&mut *tx`), in this
    /// store's schema: it exists, and workers are notified, only if that
    /// transaction commits.
    pub async fn create_batch_in(
        &self,
        conn: &mut sqlx::PgConnection,
        params: CreateBatchParams,
    ) -> Result<BatchCreated> {
        let now = params.now;
        let mut statements = PgBatch {
            conn,
            q: &self.inner.q,
            now,
        };
        batch::create(params, &mut statements).await
    }
}

#[async_trait]
impl BatchStore for PgStore {
    async fn create_batch(&self, params: CreateBatchParams) -> Result<BatchCreated> {
        let mut tx = self.inner.enqueue.begin().await.map_err(db_error)?;
        let now = params.now;
        let mut statements = PgBatch {
            conn: &mut tx,
            q: &self.inner.q,
            now,
        };
        let created = batch::create(params, &mut statements).await?;
        tx.commit().await.map_err(db_error)?;
        self.notify();
        Ok(created)
    }

    async fn append_to_batch(&self, params: AppendParams) -> Result<Vec<Enqueued>> {
        let mut tx = self.inner.enqueue.begin().await.map_err(db_error)?;
        let now = params.now;
        let mut statements = PgBatch {
            conn: &mut tx,
            q: &self.inner.q,
            now,
        };
        let jobs = batch::append(params, &mut statements).await?;
        tx.commit().await.map_err(db_error)?;
        self.notify();
        Ok(jobs)
    }

    async fn batch(&self, id: BatchId) -> Result<Option<Batch>> {
        let row = sqlx::query(self.inner.q.batch_get.clone())
            .bind(id.0)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| batch::batch_row(&PgColumns(&row)))
            .transpose()
    }

    async fn cancel_batch(&self, params: CancelBatchParams) -> Result<BatchCancelOutcome> {
        let outcome = batch::cancel(
            &params,
            &mut PgCancel {
                store: self,
                now: params.now,
            },
        )
        .await?;
        // The batch may have finished, its continuations enqueued.
        self.notify();
        Ok(outcome)
    }

    async fn list_batches(&self, params: ListBatchesParams) -> Result<Vec<Batch>> {
        params.validate()?;
        let start = batch::list_start(&params);
        let q = &self.inner.q;
        let query = match &params.tenant {
            Some(tenant) => sqlx::query(q.batch_list_tenant.clone()).bind(tenant.clone()),
            None => sqlx::query(q.batch_list.clone()),
        };
        let rows = query
            .bind(start)
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| batch::batch_row(&PgColumns(row)))
            .collect()
    }

    async fn batch_totals(&self, tenant: Option<String>) -> Result<BatchTotals> {
        if let Some(tenant) = &tenant {
            errand_core::validate::tenant(tenant)?;
        }
        let q = &self.inner.q;
        let query = match &tenant {
            Some(tenant) => sqlx::query(q.batch_totals_tenant.clone()).bind(tenant.clone()),
            None => sqlx::query(q.batch_totals.clone()),
        };
        let row = query.fetch_one(&self.inner.pool).await.map_err(db_error)?;
        batch::totals_row(&PgColumns(&row), tenant)
    }

    async fn prune_batches(&self, params: PruneBatchesParams) -> Result<Vec<BatchId>> {
        params.validate()?;
        let ids: Vec<i64> = sqlx::query_scalar(self.inner.q.batch_prune.clone())
            .bind(params.finished_before)
            .bind(i64::from(params.limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        Ok(ids.into_iter().map(BatchId).collect())
    }

    async fn take_finished_batches(&self, limit: u32) -> Result<Vec<Batch>> {
        validate::page_limit("limit", limit, MAX_BATCH_PAGE)?;
        let rows = sqlx::query(self.inner.q.batch_take_finished.clone())
            .bind(i64::from(limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(db_error)?;
        batch::taken(rows.iter().map(|row| batch::batch_row(&PgColumns(row))))
    }
}
