//! [`JobAdmin`]: reading and managing jobs (the CLI, the admin API, the
//! dashboard, `Client`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, JobId, JobRow, JobState, Result};

/// Read one job.
#[derive(Debug, Clone)]
pub struct GetParams {
    /// The job.
    pub id: JobId,
    /// The time its public state is derived at.
    pub now: DateTime<Utc>,
}

/// Find jobs; every filter that is set must match. Newest first.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// Kind filter.
    pub kind: Option<String>,
    /// Queue filter.
    pub queue: Option<String>,
    /// State filter.
    pub state: Option<JobState>,
    /// Tenant filter.
    pub tenant: Option<String>,
    /// Batch filter.
    pub batch_id: Option<i64>,
    /// Unique key filter.
    pub unique_key: Option<String>,
    /// Only jobs with an attempt error whose message contains this text,
    /// ignoring the case of ASCII letters.
    pub error_contains: Option<String>,
    /// Only jobs with an id below this one (paging).
    pub before_id: Option<JobId>,
    /// Most rows to return.
    pub limit: u32,
    /// The time public states are derived at.
    pub now: DateTime<Utc>,
}

/// Most jobs one [`JobAdmin::list`] call returns.
pub const MAX_LIST_PAGE: u32 = 10_000;

impl ListParams {
    /// Checks every filter and the limit; the error names the field.
    pub fn validate(&self) -> Result<()> {
        crate::validate::page_limit("limit", self.limit, MAX_LIST_PAGE)?;
        if let Some(queue) = &self.queue {
            crate::validate::queue(queue)?;
        }
        if let Some(kind) = &self.kind {
            crate::validate::kind(kind)?;
        }
        if let Some(tenant) = &self.tenant {
            crate::validate::tenant(tenant)?;
        }
        if let Some(text) = &self.error_contains {
            crate::validate::error_text(text)?;
        }
        Ok(())
    }

    /// The index a store walks to list these jobs: the filter whose
    /// index holds the fewest other jobs, in the order of [`ListWalk`].
    /// The other filters are checked on the jobs that walk finds.
    pub fn walk(&self) -> ListWalk<'_> {
        if let Some(key) = &self.unique_key {
            return ListWalk::UniqueKey(key);
        }
        if let Some(batch) = self.batch_id {
            return ListWalk::Batch(batch);
        }
        match self.state {
            Some(JobState::Running) => return ListWalk::Running,
            Some(JobState::Scheduled | JobState::Available | JobState::Retrying) => {
                return ListWalk::Waiting;
            }
            Some(state @ (JobState::Failed | JobState::Cancelled)) => {
                return ListWalk::Ended(state);
            }
            Some(JobState::Completed) | None => {}
        }
        if self.error_contains.is_some() {
            ListWalk::Errors
        } else if let Some(kind) = &self.kind {
            ListWalk::Kind(kind)
        } else if let Some(tenant) = &self.tenant {
            ListWalk::Tenant(tenant)
        } else if let Some(queue) = &self.queue {
            ListWalk::Queue(queue)
        } else {
            ListWalk::All
        }
    }
}

/// What a job listing walks, newest first: an index that holds only the
/// jobs one filter can match, so that a filter matching few jobs, or none,
/// reads those few instead of every job. Chosen by [`ListParams::walk`],
/// in this order (most selective first, as far as a store can know
/// without counting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListWalk<'a> {
    /// The jobs that asked for this unique key.
    UniqueKey(&'a str),
    /// This batch's jobs.
    Batch(i64),
    /// Running jobs.
    Running,
    /// Waiting jobs (scheduled, available, retrying).
    Waiting,
    /// Jobs in this state, failed or cancelled.
    Ended(JobState),
    /// Jobs with at least one attempt error (for a search of error text).
    Errors,
    /// This kind's jobs.
    Kind(&'a str),
    /// This tenant's jobs.
    Tenant(&'a str),
    /// This queue's jobs.
    Queue(&'a str),
    /// Every job (no filter, or completed jobs only: most of a store).
    All,
}

/// Cancel jobs: waiting ones are cancelled at once, running ones are asked to stop.
#[derive(Debug, Clone)]
pub struct CancelParams {
    /// The jobs.
    pub ids: Vec<JobId>,
    /// The cancel time.
    pub now: DateTime<Utc>,
}

/// What a cancel did, for every id it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOutcome {
    /// Jobs that were waiting and are now cancelled.
    pub cancelled: Vec<JobId>,
    /// Jobs that are running and were asked to stop.
    pub requested: Vec<JobId>,
    /// Jobs that had already finished, with their state; nothing changed.
    pub finished: Vec<(JobId, JobState)>,
    /// Ids of no job.
    pub missing: Vec<JobId>,
}

impl CancelOutcome {
    /// What cancelling `ids` does, given the public states of the jobs that
    /// exist (`found`): waiting jobs are cancelled, running ones asked to
    /// stop, finished ones left alone; the rest are missing. Stores read the
    /// states and apply the plan in one transaction (or script).
    pub fn plan(ids: &[JobId], found: &[(JobId, JobState)]) -> CancelOutcome {
        let mut outcome = CancelOutcome::default();
        let mut seen = std::collections::HashSet::new();
        for &id in ids.iter().filter(|id| seen.insert(**id)) {
            match found.iter().find(|(j, _)| *j == id) {
                None => outcome.missing.push(id),
                Some((_, JobState::Running)) => outcome.requested.push(id),
                Some((_, state)) if state.is_finished() => outcome.finished.push((id, *state)),
                Some(_) => outcome.cancelled.push(id),
            }
        }
        outcome
    }

    /// The effect on the one job `id`: cancelled or asked to stop, or the
    /// error saying why not ([`Error::NotFound`], or [`Error::Conflict`]
    /// naming the state of a job that had already finished).
    pub fn of(&self, id: JobId) -> Result<Cancellation> {
        if self.cancelled.contains(&id) {
            Ok(Cancellation::Cancelled)
        } else if self.requested.contains(&id) {
            Ok(Cancellation::Requested)
        } else if let Some((_, state)) = self.finished.iter().find(|(j, _)| *j == id) {
            Err(Error::wrong_state(
                id,
                *state,
                "a finished job cannot be cancelled",
            ))
        } else {
            Err(Error::job_not_found(id))
        }
    }
}

/// What cancelling one job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cancellation {
    /// It was waiting and is now cancelled.
    Cancelled,
    /// It is running: its CancellationToken fires on the worker that runs it,
    /// and it ends cancelled unless it completes first.
    Requested,
}

/// Run a finished job again: it becomes available at `now` with one more
/// attempt allowed. A missing job is [`Error::NotFound`]; one that has not
/// finished is an [`Error::Conflict`] naming its state.
#[derive(Debug, Clone)]
pub struct RetryParams {
    /// The job.
    pub id: JobId,
    /// The retry time.
    pub now: DateTime<Utc>,
}

impl RetryParams {
    /// Whether a job found in `state` (`None`: no such job) may be retried.
    pub fn check(&self, state: Option<JobState>) -> Result<()> {
        match state {
            None => Err(Error::job_not_found(self.id)),
            Some(state) if state.is_finished() => Ok(()),
            Some(state) => Err(Error::wrong_state(
                self.id,
                state,
                "only completed, failed or cancelled jobs can be retried",
            )),
        }
    }

    /// The conflict of a retry whose job's unique key another unfinished job holds.
    pub fn key_taken(&self) -> Error {
        Error::conflict(format!(
            "job {} cannot be retried: another unfinished job holds its unique key",
            self.id
        ))
    }
}

/// Delete a job that is not running. A missing job is [`Error::NotFound`];
/// a running one is an [`Error::Conflict`].
#[derive(Debug, Clone)]
pub struct DeleteParams {
    /// The job.
    pub id: JobId,
}

impl DeleteParams {
    /// Whether a job found in `state` (`None`: no such job) may be deleted.
    pub fn check(&self, state: Option<JobState>) -> Result<()> {
        match state {
            None => Err(Error::job_not_found(self.id)),
            Some(JobState::Running) => Err(Error::wrong_state(
                self.id,
                JobState::Running,
                "cancel it and let it end before deleting it",
            )),
            Some(_) => Ok(()),
        }
    }
}

/// Count jobs per queue and public state.
#[derive(Debug, Clone)]
pub struct StatsParams {
    /// Only this tenant's jobs, when set.
    pub tenant: Option<String>,
    /// Count per tenant too: each [`StateCount`] is of one queue, state and
    /// tenant (`None`: the jobs without one), instead of all tenants'.
    pub per_tenant: bool,
    /// The time public states are derived at.
    pub now: DateTime<Utc>,
}

/// The jobs waiting to run in one queue: due now, and the oldest of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// The queue.
    pub queue: String,
    /// Jobs due and waiting (available, not running).
    pub due: u64,
    /// When the oldest of them became due.
    pub oldest_due_at: Option<DateTime<Utc>>,
}

/// How many jobs of one queue are in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCount {
    /// The queue.
    pub queue: String,
    /// The public state.
    pub state: JobState,
    /// The tenant, when counted per tenant ([`StatsParams::per_tenant`])
    /// and the jobs have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The number of jobs.
    pub count: u64,
}

/// Job counts per queue and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// One entry per (queue, state) that has jobs (per queue, state and
    /// tenant when counted per tenant), ordered by queue, state, then
    /// tenant (none first).
    pub counts: Vec<StateCount>,
}

impl Stats {
    /// Jobs in `state` across all queues.
    pub fn total(&self, state: JobState) -> u64 {
        self.counts
            .iter()
            .filter(|c| c.state == state)
            .map(|c| c.count)
            .sum()
    }

    /// Every job counted.
    pub fn all(&self) -> u64 {
        self.counts.iter().map(|c| c.count).sum()
    }

    /// Jobs that have not finished (scheduled, available, running, retrying).
    pub fn unfinished(&self) -> u64 {
        self.counts
            .iter()
            .filter(|c| !c.state.is_finished())
            .map(|c| c.count)
            .sum()
    }
}

/// Change a waiting job: when it runs, its priority, its queue. `None`
/// keeps what the job has.
#[derive(Debug, Clone)]
pub struct RescheduleParams {
    /// The job.
    pub id: JobId,
    /// Its new due time.
    pub run_at: Option<DateTime<Utc>>,
    /// Its new priority.
    pub priority: Option<i16>,
    /// Its new queue.
    pub queue: Option<String>,
    /// The time the job's public state is read at.
    pub now: DateTime<Utc>,
}

impl RescheduleParams {
    /// Checks the new values: a valid queue name, a time errand holds.
    pub fn validate(&self) -> Result<()> {
        if let Some(queue) = &self.queue {
            crate::validate::queue(queue)?;
        }
        if let Some(at) = self.run_at {
            crate::validate::time("run_at", at)?;
        }
        Ok(())
    }

    /// Whether a job found in `state` (`None`: no such job) may be
    /// rescheduled: only a waiting one (scheduled, available, retrying).
    pub fn check(&self, state: Option<JobState>) -> Result<()> {
        match state {
            None => Err(Error::job_not_found(self.id)),
            Some(JobState::Scheduled | JobState::Available | JobState::Retrying) => Ok(()),
            Some(state) => Err(Error::wrong_state(
                self.id,
                state,
                "only a waiting (scheduled, available or retrying) job can be rescheduled",
            )),
        }
    }
}

/// Delete finished jobs of one state that finished before a time, at most
/// `limit` of them per call: loop, passing each call's `next` as `after`,
/// until `next` is `None`. The SQL stores delete the oldest finished first
/// (what a call deleted is gone, so they need no cursor); Redis walks the
/// jobs in id order after `after`, looking at `limit` jobs at most per call
/// to keep its server free.
#[derive(Debug, Clone)]
pub struct PruneParams {
    /// `completed`, `failed` or `cancelled`.
    pub state: JobState,
    /// Jobs that finished before this time go.
    pub finished_before: DateTime<Utc>,
    /// Continue after this id (the `next` of the previous call; Redis).
    pub after: Option<JobId>,
    /// Most jobs to delete (or, on Redis, to look at) in this call: 1 to 10,000.
    pub limit: u32,
}

impl PruneParams {
    /// Checks the state (a finished one) and the limit.
    pub fn validate(&self) -> Result<()> {
        if !self.state.is_finished() {
            return Err(Error::invalid(
                "state",
                self.state,
                "only completed, failed or cancelled jobs can be pruned",
            ));
        }
        crate::validate::page_limit("limit", self.limit, 10_000)
    }
}

/// What one prune call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneOutcome {
    /// The jobs deleted.
    pub deleted: Vec<JobId>,
    /// Where the next call continues; `None` when nothing is left to look at.
    pub next: Option<JobId>,
}

impl PruneOutcome {
    /// The outcome of a call that deleted `ids` (in any order) of at most
    /// `limit`: when it deleted that many, the next call continues after
    /// the last.
    pub fn of(mut ids: Vec<i64>, limit: u32) -> Self {
        ids.sort_unstable();
        let full = ids.len() >= limit as usize;
        PruneOutcome {
            next: full.then(|| ids.last().copied().map(JobId)).flatten(),
            deleted: ids.into_iter().map(JobId).collect(),
        }
    }
}

/// Reading and managing jobs.
#[async_trait]
pub trait JobAdmin: Send + Sync + 'static {
    /// Reads one job.
    async fn get(&self, params: GetParams) -> Result<Option<JobRow>>;
    /// Lists jobs.
    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>>;
    /// Cancels jobs; says for every id what happened to it.
    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome>;
    /// Retries a finished job ([`Error::NotFound`], or [`Error::Conflict`]
    /// naming the state of a job that has not finished).
    async fn retry(&self, params: RetryParams) -> Result<()>;
    /// Counts jobs per queue and state.
    async fn stats(&self, params: StatsParams) -> Result<Stats>;
    /// Deletes a job that is not running ([`Error::NotFound`], or
    /// [`Error::Conflict`] for a running job).
    async fn delete(&self, params: DeleteParams) -> Result<()>;
    /// Changes when a waiting job runs, its priority or its queue, and
    /// returns it ([`Error::NotFound`], or [`Error::Conflict`] naming the
    /// state of a job that is not waiting).
    async fn reschedule(&self, params: RescheduleParams) -> Result<JobRow>;
    /// Deletes finished jobs of one state that finished before a time, a
    /// bounded chunk at a time.
    async fn prune(&self, params: PruneParams) -> Result<PruneOutcome>;
    /// Per queue with jobs due at `now`: how many wait and since when the
    /// oldest has, ordered by queue (queues with none due are left out).
    /// Read from where claims look, never by counting finished jobs.
    async fn queue_depths(&self, now: DateTime<Utc>) -> Result<Vec<QueueDepth>>;
}

/// A shared store administers as the store does.
#[async_trait]
impl<S: JobAdmin + ?Sized> JobAdmin for std::sync::Arc<S> {
    async fn get(&self, params: GetParams) -> Result<Option<JobRow>> {
        (**self).get(params).await
    }
    async fn list(&self, params: ListParams) -> Result<Vec<JobRow>> {
        (**self).list(params).await
    }
    async fn cancel(&self, params: CancelParams) -> Result<CancelOutcome> {
        (**self).cancel(params).await
    }
    async fn retry(&self, params: RetryParams) -> Result<()> {
        (**self).retry(params).await
    }
    async fn stats(&self, params: StatsParams) -> Result<Stats> {
        (**self).stats(params).await
    }
    async fn delete(&self, params: DeleteParams) -> Result<()> {
        (**self).delete(params).await
    }
    async fn reschedule(&self, params: RescheduleParams) -> Result<JobRow> {
        (**self).reschedule(params).await
    }
    async fn prune(&self, params: PruneParams) -> Result<PruneOutcome> {
        (**self).prune(params).await
    }
    async fn queue_depths(&self, now: DateTime<Utc>) -> Result<Vec<QueueDepth>> {
        (**self).queue_depths(now).await
    }
}
