//! The checked admin writes of the SQL stores: read the jobs' states inside
//! the write transaction, check them, then write. The order is decided here
//! once; each backend only runs the statements with its own binds.

use std::future::Future;

use chrono::{DateTime, Utc};
use errand_core::store::{CancelParams, DeleteParams, RescheduleParams, RetryParams};
use errand_core::{CancelOutcome, Error, JobId, JobRow, JobState, Result};

/// The statements of the checked admin writes, run inside one write
/// transaction that keeps the states read until it commits.
pub trait AdminTx: Send {
    /// The public states at `now` of the jobs of `ids` that exist.
    fn job_states(
        &mut self,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(JobId, JobState)>>> + Send;
    /// Cancels the waiting jobs of `ids`.
    fn cancel_waiting(
        &mut self,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Asks the running jobs of `ids` to stop.
    fn request_cancel(&mut self, ids: &[i64]) -> impl Future<Output = Result<()>> + Send;
    /// Makes the finished job `id` due again at `now`; a taken unique key is
    /// an [`Error::Conflict`].
    fn retry(&mut self, id: i64, now: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the job `id`.
    fn delete(&mut self, id: i64) -> impl Future<Output = Result<()>> + Send;
    /// Writes what `params` changes of a waiting job.
    fn reschedule(&mut self, params: &RescheduleParams) -> impl Future<Output = Result<()>> + Send;
    /// The job `id` as it is now written.
    fn get(&mut self, id: i64, now: DateTime<Utc>) -> impl Future<Output = Result<JobRow>> + Send;
    /// Commits the transaction.
    fn commit(self) -> impl Future<Output = Result<()>> + Send;
}

async fn state_of(
    tx: &mut impl AdminTx,
    id: JobId,
    now: DateTime<Utc>,
) -> Result<Option<JobState>> {
    let found = tx.job_states(&[id.0], now).await?;
    Ok(found.first().map(|(_, state)| *state))
}

fn raw(ids: &[JobId]) -> Vec<i64> {
    ids.iter().map(|id| id.0).collect()
}

/// Cancels what `params` names: waiting jobs at once, running ones asked to
/// stop, finished and missing ones reported.
pub async fn cancel(mut tx: impl AdminTx, params: &CancelParams) -> Result<CancelOutcome> {
    let found = tx.job_states(&raw(&params.ids), params.now).await?;
    let outcome = CancelOutcome::plan(&params.ids, &found);
    if !outcome.cancelled.is_empty() {
        tx.cancel_waiting(&raw(&outcome.cancelled), params.now)
            .await?;
    }
    if !outcome.requested.is_empty() {
        tx.request_cancel(&raw(&outcome.requested)).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Retries a finished job.
pub async fn retry(mut tx: impl AdminTx, params: &RetryParams) -> Result<()> {
    params.check(state_of(&mut tx, params.id, params.now).await?)?;
    tx.retry(params.id.0, params.now)
        .await
        .map_err(|e| match e {
            Error::Conflict { .. } => params.key_taken(),
            other => other,
        })?;
    tx.commit().await
}

/// Deletes a job that is not running.
pub async fn delete(mut tx: impl AdminTx, params: &DeleteParams) -> Result<()> {
    params.check(state_of(&mut tx, params.id, Utc::now()).await?)?;
    tx.delete(params.id.0).await?;
    tx.commit().await
}

/// Changes a waiting job's run_at, priority or queue; returns it as written.
/// The caller validates `params` before it begins the transaction.
pub async fn reschedule(mut tx: impl AdminTx, params: &RescheduleParams) -> Result<JobRow> {
    params.check(state_of(&mut tx, params.id, params.now).await?)?;
    tx.reschedule(params).await?;
    let job = tx.get(params.id.0, params.now).await?;
    tx.commit().await?;
    Ok(job)
}

/// The id a job listing starts below: the page's `before_id`, or past the
/// largest id, so that the statement's keyset range is always set and the
/// walk starts there in the primary key.
pub fn list_below(params: &errand_core::store::ListParams) -> i64 {
    params.before_id.map_or(i64::MAX, |id| id.0)
}
