//! [`BatchStore`]: groups of jobs with continuations that run once the group
//! has finished.
//!
//! A batch keeps counts of its jobs by state, updated by the same write that
//! changes a job's state (never counted when read). Once a batch is sealed
//! and none of its jobs waits or runs, the write that ended its last job
//! marks it finished and enqueues its continuations: each exactly once,
//! whichever worker, rescue or cancel ended that job.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Enqueued;
use crate::{Error, NewJob, Result, validate};

/// The id of a batch, assigned by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(pub i64);

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<i64> for BatchId {
    fn from(id: i64) -> Self {
        BatchId(id)
    }
}

/// When a continuation is enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContinueOn {
    /// Every job of the batch completed.
    Success,
    /// Every job of the batch finished, whatever the outcome.
    Complete,
    /// Every job finished and at least one failed or was cancelled.
    Failure,
}

impl ContinueOn {
    /// The name stores keep: `success`, `complete` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContinueOn::Success => "success",
            ContinueOn::Complete => "complete",
            ContinueOn::Failure => "failure",
        }
    }

    /// Whether a batch that finished with `counts` enqueues this continuation.
    pub fn fires(self, counts: &BatchCounts) -> bool {
        let failed = counts.failed + counts.cancelled > 0;
        match self {
            ContinueOn::Success => !failed,
            ContinueOn::Complete => true,
            ContinueOn::Failure => failed,
        }
    }
}

/// A job enqueued when its batch finishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// When it is enqueued.
    pub on: ContinueOn,
    /// The job. It is due when the batch finishes; it carries no unique key,
    /// no batch and no cron origin. Stores add the meta entry
    /// [`CONTINUES_META`] with the batch's id.
    pub job: NewJob,
}

/// The meta entry a continuation job carries: the id of the batch it
/// continues, which the batch extractor reads.
pub const CONTINUES_META: &str = "errand.continues";

/// A batch about to be created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewBatch {
    /// Tenant, if any; its jobs and continuations should carry the same.
    pub tenant: Option<String>,
    /// Jobs enqueued when the batch finishes.
    pub continuations: Vec<Continuation>,
    /// Whether the batch is complete as created. An open batch (false)
    /// never finishes before [`BatchStore::append_to_batch`] seals it.
    pub sealed: bool,
}

impl NewBatch {
    /// Checks the batch and its continuations; the error names the field.
    pub fn validate(&self, max_input_bytes: usize) -> Result<()> {
        if let Some(tenant) = &self.tenant {
            validate::tenant(tenant)?;
        }
        for (i, continuation) in self.continuations.iter().enumerate() {
            let job = &continuation.job;
            let field = |name: &str| format!("continuations[{i}].{name}");
            job.validate(max_input_bytes)
                .map_err(|e| e.context(format_args!("continuation {i}")))?;
            if let Some(unique) = &job.unique {
                return Err(Error::invalid(
                    field("unique"),
                    &unique.key,
                    "a continuation cannot carry a unique key",
                ));
            }
            if let Some(at) = job.run_at {
                return Err(Error::invalid(
                    field("run_at"),
                    at.to_rfc3339(),
                    "a continuation is due when its batch finishes",
                ));
            }
            if let Some(batch) = job.batch_id {
                return Err(Error::invalid(
                    field("batch_id"),
                    batch.to_string(),
                    "a continuation belongs to no batch",
                ));
            }
            if job.cron.is_some() {
                return Err(Error::invalid(
                    field("cron"),
                    "set",
                    "a continuation has no cron origin",
                ));
            }
            if job.meta.contains_key(CONTINUES_META) {
                return Err(Error::invalid(
                    field("meta"),
                    CONTINUES_META,
                    "this entry is written by the store",
                ));
            }
        }
        Ok(())
    }
}

/// Checks the jobs of a batch: each valid, none naming a batch of its own
/// (the store sets it).
pub fn validate_batch_jobs(jobs: &[NewJob], max_input_bytes: usize) -> Result<()> {
    for (i, job) in jobs.iter().enumerate() {
        job.validate(max_input_bytes)
            .map_err(|e| e.context(format_args!("job {i} of the batch")))?;
        if let Some(batch) = job.batch_id {
            return Err(Error::invalid(
                format!("jobs[{i}].batch_id"),
                batch.to_string(),
                "jobs of a batch get the batch's id from the store",
            ));
        }
    }
    Ok(())
}

/// Create a batch with its first jobs, in one write.
#[derive(Debug, Clone)]
pub struct CreateBatchParams {
    /// The batch.
    pub batch: NewBatch,
    /// Its jobs (may be empty, then more come by appending).
    pub jobs: Vec<NewJob>,
    /// The creation time.
    pub now: DateTime<Utc>,
    /// Largest serialized input accepted.
    pub max_input_bytes: usize,
}

/// A created batch and its jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCreated {
    /// The batch.
    pub id: BatchId,
    /// Its jobs, in input order; a duplicate of a unique key joins no batch.
    pub jobs: Vec<Enqueued>,
}

/// Add jobs to an unfinished batch, and possibly seal it, in one write.
#[derive(Debug, Clone)]
pub struct AppendParams {
    /// The batch.
    pub id: BatchId,
    /// The jobs (may be empty to only seal).
    pub jobs: Vec<NewJob>,
    /// Seal the batch: once its jobs have finished, it finishes.
    pub seal: bool,
    /// The time.
    pub now: DateTime<Utc>,
    /// Largest serialized input accepted.
    pub max_input_bytes: usize,
}

/// How many jobs of a batch are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    /// Every job it holds.
    pub total: u64,
    /// Scheduled, available or retrying.
    pub waiting: u64,
    /// Running now.
    pub running: u64,
    /// Completed.
    pub completed: u64,
    /// Failed for good.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl BatchCounts {
    /// Jobs that have finished.
    pub fn finished(&self) -> u64 {
        self.completed + self.failed + self.cancelled
    }
}

/// A continuation as stored with its batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinuationStatus {
    /// When it is enqueued.
    pub on: ContinueOn,
    /// Its kind.
    pub kind: String,
    /// Whether it was enqueued (its batch finished with counts it fires on).
    pub enqueued: bool,
}

/// A batch as read from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The id.
    pub id: BatchId,
    /// Tenant, if any.
    pub tenant: Option<String>,
    /// Its jobs by state.
    pub counts: BatchCounts,
    /// Whether it may finish (no more jobs are announced).
    pub sealed: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, if it was: it takes no more jobs.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When its last job ended (and its continuations were enqueued).
    pub finished_at: Option<DateTime<Utc>>,
    /// Its continuations.
    pub continuations: Vec<ContinuationStatus>,
}

impl Batch {
    /// Orders batches as [`BatchStore::take_finished_batches`] returns
    /// them: the oldest end first, then by id.
    pub fn sort_by_end(batches: &mut [Batch]) {
        batches.sort_by_key(|b| (b.finished_at, b.id));
    }

    /// The statuses of `continuations` of a batch with `counts`, finished or not.
    pub fn continuation_statuses(
        continuations: &[(ContinueOn, String)],
        counts: &BatchCounts,
        finished: bool,
    ) -> Vec<ContinuationStatus> {
        continuations
            .iter()
            .map(|(on, kind)| ContinuationStatus {
                on: *on,
                kind: kind.clone(),
                enqueued: finished && on.fires(counts),
            })
            .collect()
    }
}

/// Cancel a batch: its waiting jobs are cancelled at once, its running jobs
/// are asked to stop (through their CancellationToken, on whichever worker
/// runs them), and it takes no more jobs. It is sealed: it finishes, with
/// its continuations, once its running jobs end.
#[derive(Debug, Clone)]
pub struct CancelBatchParams {
    /// The batch.
    pub id: BatchId,
    /// The time.
    pub now: DateTime<Utc>,
}

/// What cancelling a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCancelOutcome {
    /// Waiting jobs cancelled.
    pub cancelled: u64,
    /// Running jobs asked to stop.
    pub signalled: u64,
    /// Jobs that had already finished.
    pub finished: u64,
}

/// Find batches, newest first, a page at a time.
#[derive(Debug, Clone)]
pub struct ListBatchesParams {
    /// Only the batches of this tenant (`None`: every batch).
    pub tenant: Option<String>,
    /// Only batches with an id below this one (the last id of the previous page).
    pub before_id: Option<BatchId>,
    /// Most batches to return: 1 to 1,000.
    pub limit: u32,
}

impl ListBatchesParams {
    /// Checks the tenant and the limit; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if let Some(tenant) = &self.tenant {
            validate::tenant(tenant)?;
        }
        validate::page_limit("limit", self.limit, MAX_BATCH_PAGE)
    }
}

/// Most batches one [`BatchStore::list_batches`] call returns.
pub const MAX_BATCH_PAGE: u32 = 1_000;

/// The batches on record (unfinished, or finished within their retention)
/// of one tenant or of all, and their jobs summed by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchTotals {
    /// The tenant summed (`None`: every batch).
    pub tenant: Option<String>,
    /// Batches on record.
    pub batches: u64,
    /// Of those, the batches not finished yet.
    pub unfinished: u64,
    /// Their jobs by state, summed.
    pub counts: BatchCounts,
}

impl BatchTotals {
    /// Adds one batch to the totals.
    pub fn add(&mut self, batch: &Batch) {
        self.batches += 1;
        self.unfinished += u64::from(batch.finished_at.is_none());
        let (sum, counts) = (&mut self.counts, &batch.counts);
        sum.total += counts.total;
        sum.waiting += counts.waiting;
        sum.running += counts.running;
        sum.completed += counts.completed;
        sum.failed += counts.failed;
        sum.cancelled += counts.cancelled;
    }
}

/// Delete the records of batches that finished before a time, the oldest
/// first, at most `limit` per call: loop until a call deletes fewer. The
/// jobs of those batches are not touched (their own retention applies).
#[derive(Debug, Clone)]
pub struct PruneBatchesParams {
    /// Batches that finished before this time go.
    pub finished_before: DateTime<Utc>,
    /// Most batches to delete in this call: 1 to 10,000.
    pub limit: u32,
}

impl PruneBatchesParams {
    /// Checks the limit; the error names it.
    pub fn validate(&self) -> Result<()> {
        validate::page_limit("limit", self.limit, 10_000)
    }
}

/// Groups of jobs with continuations. Counts follow every change of a job's
/// state in the write that makes it; continuations are enqueued in the write
/// that ends a sealed batch's last job.
#[async_trait]
pub trait BatchStore: Send + Sync + 'static {
    /// Creates a batch with its first jobs (all or nothing).
    async fn create_batch(&self, params: CreateBatchParams) -> Result<BatchCreated>;
    /// Adds jobs to an unfinished batch and possibly seals it (all or
    /// nothing); a finished or unknown batch is an error naming it.
    async fn append_to_batch(&self, params: AppendParams) -> Result<Vec<Enqueued>>;
    /// The batch, or `None`.
    async fn batch(&self, id: BatchId) -> Result<Option<Batch>>;
    /// Cancels a batch (see [`CancelBatchParams`]); an unknown batch is
    /// [`Error::NotFound`]. Cancelling a finished batch changes nothing and
    /// counts its jobs as finished.
    async fn cancel_batch(&self, params: CancelBatchParams) -> Result<BatchCancelOutcome>;
    /// Batches newest first (see [`ListBatchesParams`]).
    async fn list_batches(&self, params: ListBatchesParams) -> Result<Vec<Batch>>;
    /// The batches on record of `tenant` (`None`: all) with their jobs
    /// summed by state, from the counts each batch keeps. Stores without an
    /// aggregate query page through [`BatchStore::list_batches`].
    async fn batch_totals(&self, tenant: Option<String>) -> Result<BatchTotals> {
        let mut totals = BatchTotals {
            tenant: tenant.clone(),
            ..BatchTotals::default()
        };
        let mut before_id = None;
        loop {
            let page = self
                .list_batches(ListBatchesParams {
                    tenant: tenant.clone(),
                    before_id,
                    limit: MAX_BATCH_PAGE,
                })
                .await?;
            for batch in &page {
                totals.add(batch);
            }
            match page.last() {
                Some(last) if page.len() == MAX_BATCH_PAGE as usize => before_id = Some(last.id),
                _ => return Ok(totals),
            }
        }
    }
    /// Deletes the records of batches finished before a time (see
    /// [`PruneBatchesParams`]); returns their ids.
    async fn prune_batches(&self, params: PruneBatchesParams) -> Result<Vec<BatchId>>;
    /// Takes up to `limit` (1 to [`MAX_BATCH_PAGE`]) finished batches that
    /// no caller has taken yet, the oldest end first. The write that
    /// finishes a batch (whatever ended its last job) marks it and a take
    /// clears the mark: each finished batch is taken by one caller, once.
    /// Workers deliver their batch-finished hooks from here.
    async fn take_finished_batches(&self, limit: u32) -> Result<Vec<Batch>>;
}

#[async_trait]
impl<S: BatchStore + ?Sized> BatchStore for std::sync::Arc<S> {
    async fn create_batch(&self, params: CreateBatchParams) -> Result<BatchCreated> {
        (**self).create_batch(params).await
    }
    async fn append_to_batch(&self, params: AppendParams) -> Result<Vec<Enqueued>> {
        (**self).append_to_batch(params).await
    }
    async fn batch(&self, id: BatchId) -> Result<Option<Batch>> {
        (**self).batch(id).await
    }
    async fn cancel_batch(&self, params: CancelBatchParams) -> Result<BatchCancelOutcome> {
        (**self).cancel_batch(params).await
    }
    async fn list_batches(&self, params: ListBatchesParams) -> Result<Vec<Batch>> {
        (**self).list_batches(params).await
    }
    async fn batch_totals(&self, tenant: Option<String>) -> Result<BatchTotals> {
        (**self).batch_totals(tenant).await
    }
    async fn prune_batches(&self, params: PruneBatchesParams) -> Result<Vec<BatchId>> {
        (**self).prune_batches(params).await
    }
    async fn take_finished_batches(&self, limit: u32) -> Result<Vec<Batch>> {
        (**self).take_finished_batches(limit).await
    }
}

/// The error of appending to a batch that has finished.
pub fn batch_finished(id: BatchId) -> Error {
    Error::conflict(format!(
        "batch {id} has finished: no job can join it any more"
    ))
}

/// The error of appending to a batch that was cancelled.
pub fn batch_cancelled(id: BatchId) -> Error {
    Error::conflict(format!(
        "batch {id} was cancelled: no job can join it any more"
    ))
}

/// The error of naming a batch that does not exist.
pub fn batch_not_found(id: BatchId) -> Error {
    Error::NotFound {
        entity: "batch",
        id: id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn continuation(on: ContinueOn) -> Continuation {
        Continuation {
            on,
            job: NewJob::new("zip", serde_json::json!({})),
        }
    }

    #[test]
    fn continuations_fire_on_their_outcome() {
        let clean = BatchCounts {
            total: 2,
            completed: 2,
            ..BatchCounts::default()
        };
        let failed = BatchCounts {
            total: 2,
            completed: 1,
            cancelled: 1,
            ..BatchCounts::default()
        };
        assert!(ContinueOn::Success.fires(&clean));
        assert!(!ContinueOn::Success.fires(&failed));
        assert!(ContinueOn::Complete.fires(&clean) && ContinueOn::Complete.fires(&failed));
        assert!(!ContinueOn::Failure.fires(&clean));
        assert!(ContinueOn::Failure.fires(&failed));
    }

    #[test]
    fn continuations_refuse_what_a_finish_cannot_honour() {
        let mut batch = NewBatch {
            continuations: vec![continuation(ContinueOn::Success)],
            ..NewBatch::default()
        };
        assert!(batch.validate(1 << 20).is_ok());
        batch.continuations[0].job.unique = Some(crate::Unique::active("k"));
        let error = batch.validate(1 << 20).unwrap_err().to_string();
        assert!(error.contains("continuations[0].unique"), "{error}");
        batch.continuations[0].job.unique = None;
        batch.continuations[0].job.batch_id = Some(3);
        let error = batch.validate(1 << 20).unwrap_err().to_string();
        assert!(error.contains("continuations[0].batch_id"), "{error}");
        batch.continuations[0].job.batch_id = None;
        batch.tenant = Some(String::new());
        assert!(batch.validate(1 << 20).is_err());
    }

    #[test]
    fn jobs_of_a_batch_name_no_batch() {
        let mut job = NewJob::new("resize", serde_json::json!(1));
        assert!(validate_batch_jobs(std::slice::from_ref(&job), 1 << 20).is_ok());
        job.batch_id = Some(9);
        let error = validate_batch_jobs(&[job], 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(error.contains("jobs[0].batch_id"), "{error}");
    }
}
