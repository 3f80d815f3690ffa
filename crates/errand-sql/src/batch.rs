//! Batches on the SQL stores: what both keep of a batch, in one shape. The
//! counting and the continuations live in each store's triggers; the order
//! of a create or an append lives here once.

use std::future::Future;

use errand_core::store::{
    AppendParams, Batch, BatchCancelOutcome, BatchCounts, BatchCreated, BatchId, BatchTotals,
    CancelBatchParams, Continuation, ContinueOn, CreateBatchParams, ListBatchesParams,
    batch_cancelled, batch_finished, batch_not_found, validate_batch_jobs,
};
use errand_core::{Enqueued, Error, NewJob, Result};
use serde_json::json;

use crate::rows::Columns;

/// The continuations as the `continuations` column keeps them: a JSON array
/// of `{on, kind, queue, priority, tenant, input, max_attempts, meta}`,
/// which the store's finish trigger inserts as jobs.
pub fn continuations_json(continuations: &[Continuation]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = continuations
        .iter()
        .map(|c| {
            json!({
                "on": c.on.as_str(),
                "kind": c.job.kind,
                "queue": c.job.queue,
                "priority": c.job.priority,
                "tenant": c.job.tenant,
                "input": c.job.input,
                "max_attempts": c.job.max_attempts,
                "meta": c.job.meta,
            })
        })
        .collect();
    serde_json::Value::Array(rows)
}

fn count(row: &impl Columns, column: &str) -> Result<u64> {
    let value = row.int(column)?.unwrap_or(0);
    u64::try_from(value)
        .map_err(|_| Error::backend_msg(format!("stored batch {column} {value} is negative")))
}

/// The six counts of a row (a batch's, or their sums).
fn counts(row: &impl Columns) -> Result<BatchCounts> {
    Ok(BatchCounts {
        total: count(row, "total")?,
        waiting: count(row, "waiting")?,
        running: count(row, "running")?,
        completed: count(row, "completed")?,
        failed: count(row, "failed")?,
        cancelled: count(row, "cancelled")?,
    })
}

/// Batches a take returned (`RETURNING` keeps no order), the oldest end first.
pub fn taken(rows: impl Iterator<Item = Result<Batch>>) -> Result<Vec<Batch>> {
    let mut batches = rows.collect::<Result<Vec<_>>>()?;
    Batch::sort_by_end(&mut batches);
    Ok(batches)
}

/// A batch from a row with columns `id`, `tenant`, the six counts, `sealed`,
/// `continuations`, `created_at`, `cancelled_at`, `finished_at`.
pub fn batch_row(row: &impl Columns) -> Result<Batch> {
    let id = row
        .int("id")?
        .ok_or_else(|| Error::backend_msg("stored batch id is NULL"))?;
    let counts = counts(row)?;
    #[derive(serde::Deserialize)]
    struct Stored {
        on: ContinueOn,
        kind: String,
    }
    let stored: Vec<Stored> =
        serde_json::from_value(row.json("continuations")?.unwrap_or(json!([])))
            .map_err(|e| Error::backend_msg(format!("stored continuations do not decode: {e}")))?;
    let continuations: Vec<(ContinueOn, String)> =
        stored.into_iter().map(|s| (s.on, s.kind)).collect();
    let finished_at = row.time("finished_at")?;
    Ok(Batch {
        id: BatchId(id),
        tenant: row.text("tenant")?,
        counts,
        sealed: row.flag("sealed")?,
        created_at: row
            .time("created_at")?
            .ok_or_else(|| Error::backend_msg("stored batch created_at is NULL"))?,
        cancelled_at: row.time("cancelled_at")?,
        finished_at,
        continuations: Batch::continuation_statuses(&continuations, &counts, finished_at.is_some()),
    })
}

/// The totals of `tenant` from a row with columns `batches`, `unfinished`
/// and the six counts (summed).
pub fn totals_row(row: &impl Columns, tenant: Option<String>) -> Result<BatchTotals> {
    Ok(BatchTotals {
        tenant,
        batches: count(row, "batches")?,
        unfinished: count(row, "unfinished")?,
        counts: counts(row)?,
    })
}

/// The first id a batch listing starts below: the page's `before_id`, or
/// past the largest id, so that one statement serves every page.
pub fn list_start(params: &ListBatchesParams) -> i64 {
    params.before_id.map_or(i64::MAX, |id| id.0)
}

/// Whether a batch can take jobs: it exists and has not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOpen {
    /// It takes jobs.
    Open,
    /// It has finished.
    Finished,
    /// It was cancelled.
    Cancelled,
    /// There is no such batch.
    Missing,
}

/// The statements of creating and appending to a batch, run by the caller
/// inside one write transaction.
pub trait BatchStatements {
    /// Inserts the batch, unsealed; returns its id.
    fn insert(&mut self, params: &CreateBatchParams) -> impl Future<Output = Result<i64>> + Send;
    /// Locks the batch for this transaction and says whether it takes jobs.
    fn lock(&mut self, id: BatchId) -> impl Future<Output = Result<BatchOpen>> + Send;
    /// Inserts jobs (their `batch_id` set).
    fn insert_jobs(
        &mut self,
        jobs: &[NewJob],
    ) -> impl Future<Output = Result<Vec<Enqueued>>> + Send;
    /// Seals the batch; its trigger finishes it when no job waits or runs.
    fn seal(&mut self, id: BatchId) -> impl Future<Output = Result<()>> + Send;
}

fn into_batch(jobs: Vec<NewJob>, id: BatchId) -> Vec<NewJob> {
    jobs.into_iter()
        .map(|mut job| {
            job.batch_id = Some(id.0);
            job
        })
        .collect()
}

/// Creates a batch with its jobs and seals it when asked, with the
/// caller's transaction.
pub async fn create(
    params: CreateBatchParams,
    statements: &mut impl BatchStatements,
) -> Result<BatchCreated> {
    params.batch.validate(params.max_input_bytes)?;
    validate_batch_jobs(&params.jobs, params.max_input_bytes)?;
    let id = BatchId(statements.insert(&params).await?);
    let jobs = statements.insert_jobs(&into_batch(params.jobs, id)).await?;
    if params.batch.sealed {
        statements.seal(id).await?;
    }
    Ok(BatchCreated { id, jobs })
}

/// Appends jobs to an unfinished batch and seals it when asked, with the
/// caller's transaction.
pub async fn append(
    params: AppendParams,
    statements: &mut impl BatchStatements,
) -> Result<Vec<Enqueued>> {
    validate_batch_jobs(&params.jobs, params.max_input_bytes)?;
    match statements.lock(params.id).await? {
        BatchOpen::Open => {}
        BatchOpen::Finished => return Err(batch_finished(params.id)),
        BatchOpen::Cancelled => return Err(batch_cancelled(params.id)),
        BatchOpen::Missing => return Err(batch_not_found(params.id)),
    }
    let jobs = if params.jobs.is_empty() {
        Vec::new()
    } else {
        statements
            .insert_jobs(&into_batch(params.jobs, params.id))
            .await?
    };
    if params.seal {
        statements.seal(params.id).await?;
    }
    Ok(jobs)
}

/// The statements of cancelling a batch, in the order [`cancel`] runs them.
pub trait BatchCancelStatements {
    /// Marks an unfinished batch cancelled and sealed; returns how many of
    /// its jobs had finished, or `None` when it is missing or finished.
    fn mark(&mut self, id: BatchId) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// How many jobs of the batch have finished, or `None` when it is missing.
    fn finished_count(&mut self, id: BatchId) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// Asks its running jobs to stop; returns how many.
    fn signal_running(&mut self, id: BatchId) -> impl Future<Output = Result<u64>> + Send;
    /// Cancels its waiting jobs (which may finish the batch); returns how many.
    fn cancel_waiting(&mut self, id: BatchId) -> impl Future<Output = Result<u64>> + Send;
}

/// Cancels a batch: marked first, so that no job joins it meanwhile, then
/// its running jobs signalled and its waiting jobs cancelled.
pub async fn cancel(
    params: &CancelBatchParams,
    statements: &mut impl BatchCancelStatements,
) -> Result<BatchCancelOutcome> {
    let finished = match statements.mark(params.id).await? {
        Some(done) => done,
        None => {
            let done = statements
                .finished_count(params.id)
                .await?
                .ok_or_else(|| batch_not_found(params.id))?;
            return Ok(BatchCancelOutcome {
                finished: u64::try_from(done).unwrap_or(0),
                ..BatchCancelOutcome::default()
            });
        }
    };
    let signalled = statements.signal_running(params.id).await?;
    let cancelled = statements.cancel_waiting(params.id).await?;
    Ok(BatchCancelOutcome {
        cancelled,
        signalled,
        finished: u64::try_from(finished).unwrap_or(0),
    })
}
