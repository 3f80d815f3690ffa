//! The storage contract. Every backend implements [`Store`]; the conformance
//! suite in `errand-store-tests` checks that each one keeps it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::{AttemptError, Error, JobId, JobRow, JobState, NewJob, Result, StateMap};

/// What a backend can do beyond the common contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Enqueue can join the application's own database transaction.
    pub transactional_enqueue: bool,
    /// Workers in other processes are woken without waiting for the poll.
    pub cross_process_wakeup: bool,
}

/// Insert jobs. Either every job is valid and stored, or none is.
#[derive(Debug, Clone)]
pub struct EnqueueParams {
    /// The jobs, in order; results come back in the same order.
    pub jobs: Vec<NewJob>,
    /// The insert time; also the `run_at` of jobs that have none.
    pub now: DateTime<Utc>,
    /// Largest serialized input accepted.
    pub max_input_bytes: usize,
}

/// The result of inserting one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    /// The new job's id, or the id of the existing job holding its unique key.
    pub id: JobId,
    /// True when a job with the same unique key already existed; nothing was inserted.
    pub duplicate: bool,
}

/// One queue the worker consumes, in the worker's order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueClaim {
    /// Queue name.
    pub name: String,
    /// How many more jobs of this queue the worker may run now (`None`: no local limit).
    pub cap: Option<u32>,
}

/// One kind the worker can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindClaim {
    /// Kind name.
    pub kind: String,
    /// How many more jobs of this kind this worker may start now (`None`: no local limit).
    pub cap: Option<u32>,
    /// Most jobs of this kind running at once across the cluster (`None`: unlimited).
    pub global_limit: Option<u32>,
}

/// Claim up to `limit` due jobs for a worker.
///
/// Queues are served in the given order (the first queue with due jobs wins),
/// inside a queue by priority, then `run_at`, then id. Only the listed kinds
/// are claimed; jobs of other kinds are left untouched. Every claimed job gets
/// `attempt + 1`, state running, this worker and a lease until `now + lease`.
#[derive(Debug, Clone)]
pub struct ClaimParams {
    /// The claiming worker's name, used for fencing.
    pub worker: String,
    /// Queues in order of preference.
    pub queues: Vec<QueueClaim>,
    /// Kinds this worker runs.
    pub kinds: Vec<KindClaim>,
    /// Most jobs to claim.
    pub limit: u32,
    /// Lease length.
    pub lease: Duration,
    /// The claim time.
    pub now: DateTime<Utc>,
}

impl ClaimParams {
    /// The end of the leases this claim gives: `now + lease`.
    pub fn lease_until(&self) -> Result<DateTime<Utc>> {
        chrono::TimeDelta::from_std(self.lease)
            .ok()
            .and_then(|d| self.now.checked_add_signed(d))
            .ok_or_else(|| {
                crate::Error::invalid("lease", format!("{:?}", self.lease), "is too long")
            })
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Success, with the serialized output.
    Complete {
        /// The job's output.
        output: serde_json::Value,
    },
    /// Failure; try again at `run_at`.
    Retry {
        /// When the next attempt is due.
        run_at: DateTime<Utc>,
        /// This attempt's error.
        error: AttemptError,
    },
    /// Failure for good: the job goes to the dead-letter set.
    Fail {
        /// This attempt's error.
        error: AttemptError,
    },
    /// The job was cancelled (by itself or on request); no retry.
    Cancel {
        /// Why.
        error: AttemptError,
    },
    /// Run again at `run_at` without using an attempt.
    Snooze {
        /// When to run again.
        run_at: DateTime<Utc>,
    },
    /// Give the job back (shutdown): available now, attempt not used.
    Release,
}

/// The end of one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalizeItem {
    /// The job.
    pub id: JobId,
    /// The attempt that ended; the store applies the outcome only if the job
    /// is still running with this attempt for this worker (fencing).
    pub attempt: u32,
    /// How it ended.
    pub outcome: Outcome,
}

/// Ends of attempts grouped by the statement that writes them, as JSON rows
/// `{id, attempt, ...}`: for stores that write each group in one statement.
#[derive(Debug, Default)]
pub struct FinalizeGroups {
    /// `{id, attempt, output}` of completed attempts.
    pub complete: Vec<serde_json::Value>,
    /// `{id, attempt, run_at, error}` of attempts to retry.
    pub retry: Vec<serde_json::Value>,
    /// `{id, attempt, error}` of jobs failed for good.
    pub fail: Vec<serde_json::Value>,
    /// `{id, attempt, error}` of cancelled jobs.
    pub cancel: Vec<serde_json::Value>,
    /// `{id, attempt, run_at}` of snoozed and released jobs (no attempt used).
    pub snooze: Vec<serde_json::Value>,
    /// Some job is due again at once: workers should be woken.
    pub wakes: bool,
}

impl FinalizeGroups {
    /// Groups `items`; `run_at` renders a time as the store keeps it.
    pub fn of(
        items: &[FinalizeItem],
        now: DateTime<Utc>,
        run_at: impl Fn(DateTime<Utc>) -> serde_json::Value,
    ) -> Self {
        use serde_json::json;
        let mut groups = FinalizeGroups::default();
        for item in items {
            let (id, attempt) = (item.id.0, item.attempt);
            match &item.outcome {
                Outcome::Complete { output } => groups
                    .complete
                    .push(json!({"id": id, "attempt": attempt, "output": output})),
                Outcome::Retry { run_at: at, error } => {
                    groups.wakes |= *at <= now;
                    groups.retry.push(
                        json!({"id": id, "attempt": attempt, "run_at": run_at(*at), "error": error}),
                    );
                }
                Outcome::Fail { error } => groups
                    .fail
                    .push(json!({"id": id, "attempt": attempt, "error": error})),
                Outcome::Cancel { error } => groups
                    .cancel
                    .push(json!({"id": id, "attempt": attempt, "error": error})),
                Outcome::Snooze { run_at: at } => {
                    groups.wakes |= *at <= now;
                    groups
                        .snooze
                        .push(json!({"id": id, "attempt": attempt, "run_at": run_at(*at)}));
                }
                Outcome::Release => {
                    groups.wakes = true;
                    groups
                        .snooze
                        .push(json!({"id": id, "attempt": attempt, "run_at": run_at(now)}));
                }
            }
        }
        groups
    }
}

/// Record the ends of attempts, all in one write.
#[derive(Debug, Clone)]
pub struct FinalizeParams {
    /// The worker that ran the attempts.
    pub worker: String,
    /// The attempts.
    pub items: Vec<FinalizeItem>,
    /// The finalize time.
    pub now: DateTime<Utc>,
    /// Some of these jobs are of a kind with a global limit: their ends free
    /// slots that workers of other processes may wait for, so the store
    /// wakes them (as it does when a job becomes due again).
    pub frees_global_slots: bool,
}

/// Extend the leases of a worker's running jobs.
#[derive(Debug, Clone)]
pub struct RenewParams {
    /// The worker.
    pub worker: String,
    /// The jobs it runs, with their attempts.
    pub jobs: Vec<(JobId, u32)>,
    /// The new lease end.
    pub lease_until: DateTime<Utc>,
}

/// The result of renewing one lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseStatus {
    /// The job.
    pub id: JobId,
    /// False when the job no longer runs under this worker and attempt: its
    /// result will be dropped and it should stop.
    pub held: bool,
    /// Someone asked the job to stop.
    pub cancel_requested: bool,
}

/// Return jobs whose lease expired (their worker died) to the queue.
///
/// Each rescued job has used its attempt: it records a `lease_expired` error
/// and becomes available at `now`, or fails for good when its attempts are used up.
#[derive(Debug, Clone)]
pub struct RescueParams {
    /// Leases that ended before this time have expired.
    pub now: DateTime<Utc>,
}

/// Rescue the jobs the store holds as running for a worker that no longer
/// runs them: their claim reached the store but not the worker (the
/// connection broke on the way back), or the store lost the worker's
/// result (a server crash with asynchronous commits). Each such job has
/// used its attempt, as a rescued one does, and waits again at once
/// instead of after its lease.
#[derive(Debug, Clone)]
pub struct RescueUnheldParams {
    /// The worker.
    pub worker: String,
    /// Every job the worker holds (runs, or has a result to write for) among
    /// those it claimed before `claimed_before`.
    pub held: Vec<JobId>,
    /// Only jobs claimed (their `started_at`) before this time are
    /// considered: claims sent since may not have reached the worker yet.
    pub claimed_before: DateTime<Utc>,
    /// The rescue time.
    pub now: DateTime<Utc>,
}

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
    /// Only jobs with an id below this one (paging).
    pub before_id: Option<JobId>,
    /// Most rows to return.
    pub limit: u32,
    /// The time public states are derived at.
    pub now: DateTime<Utc>,
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
    /// The time public states are derived at.
    pub now: DateTime<Utc>,
}

/// How many jobs of one queue are in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCount {
    /// The queue.
    pub queue: String,
    /// The public state.
    pub state: JobState,
    /// The number of jobs.
    pub count: u64,
}

/// Job counts per queue and state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// One entry per (queue, state) that has jobs.
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

/// Receives a signal whenever new jobs may have become due.
#[derive(Debug, Clone)]
pub struct Wakeup(watch::Receiver<u64>);

impl Wakeup {
    /// Waits until a signal arrives that this receiver has not seen yet. A signal
    /// sent between two calls is not lost.
    pub async fn changed(&mut self) {
        if self.0.changed().await.is_err() {
            // The store is gone; nothing will ever wake us: wait forever and let
            // the caller's poll timer take over.
            std::future::pending::<()>().await;
        }
    }

    /// True when a signal arrived that this receiver has not seen yet.
    pub fn has_changed(&self) -> bool {
        self.0.has_changed().unwrap_or(false)
    }

    /// Counts every signal so far as seen.
    pub fn mark_seen(&mut self) {
        self.0.mark_unchanged();
    }
}

/// Sends wake-up signals to every [`Wakeup`] of a store.
///
/// A store that also tells other processes (a notification channel) sends
/// its [`origin`](Self::origin) as the message and hands every message it
/// hears to [`heard`](Self::heard), which drops the store's own: its workers
/// were woken when its call returned, and the echo would only send them to
/// claim again for nothing.
#[derive(Debug)]
pub struct WakeupSender {
    signal: watch::Sender<u64>,
    origin: String,
}

impl Default for WakeupSender {
    fn default() -> Self {
        WakeupSender {
            signal: watch::Sender::new(0),
            origin: format!("{:016x}", fastrand::u64(..)),
        }
    }
}

impl WakeupSender {
    /// Signals every receiver.
    pub fn notify(&self) {
        self.signal
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// The message this store's notifications to other processes carry.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Signals every receiver for a notification heard from the channel,
    /// unless this store sent it.
    pub fn heard(&self, message: &[u8]) {
        if message != self.origin.as_bytes() {
            self.notify();
        }
    }

    /// A new receiver.
    pub fn subscribe(&self) -> Wakeup {
        Wakeup(self.signal.subscribe())
    }
}

/// The storage contract. Time-dependent operations take `now` so that tests
/// control the clock.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and benchmarks ("sqlite", "postgres", "redis").
    fn backend(&self) -> &'static str;
    /// What this backend can do beyond the common contract.
    fn capabilities(&self) -> Capabilities;
    /// Inserts jobs (all or none).
    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>>;
    /// Claims due jobs for a worker.
    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>>;
    /// Records ends of attempts; returns, per item, whether it was applied
    /// (false: the attempt was stale and its result was dropped).
    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>>;
    /// Extends leases; returns one status per job, in order.
    async fn renew_leases(&self, params: RenewParams) -> Result<Vec<LeaseStatus>>;
    /// Rescues jobs with expired leases; returns their ids.
    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>>;
    /// Rescues a worker's running jobs that it no longer holds; returns their ids.
    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>>;
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
    /// A receiver of wake-up signals: new jobs may be due.
    fn subscribe(&self) -> Wakeup;
    /// Adds what this store offers to jobs' extractors (for example what a
    /// transaction extractor needs) to a worker's shared values.
    fn provide(&self, _states: &mut StateMap) {}
}

/// A shared store is a store: `Arc<dyn Store>` and `Arc<SqliteStore>` can be
/// handed to anything that takes `impl Store`.
#[async_trait]
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn backend(&self) -> &'static str {
        (**self).backend()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    async fn enqueue(&self, params: EnqueueParams) -> Result<Vec<Enqueued>> {
        (**self).enqueue(params).await
    }
    async fn claim(&self, params: ClaimParams) -> Result<Vec<JobRow>> {
        (**self).claim(params).await
    }
    async fn finalize(&self, params: FinalizeParams) -> Result<Vec<bool>> {
        (**self).finalize(params).await
    }
    async fn renew_leases(&self, params: RenewParams) -> Result<Vec<LeaseStatus>> {
        (**self).renew_leases(params).await
    }
    async fn rescue(&self, params: RescueParams) -> Result<Vec<JobId>> {
        (**self).rescue(params).await
    }
    async fn rescue_unheld(&self, params: RescueUnheldParams) -> Result<Vec<JobId>> {
        (**self).rescue_unheld(params).await
    }
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
    fn subscribe(&self) -> Wakeup {
        (**self).subscribe()
    }
    fn provide(&self, states: &mut StateMap) {
        (**self).provide(states)
    }
}

#[cfg(test)]
mod tests {
    use super::WakeupSender;

    #[test]
    fn a_store_does_not_wake_itself_with_its_own_notification() {
        let sender = WakeupSender::default();
        let other = WakeupSender::default();
        assert_ne!(sender.origin(), other.origin());
        let wakeup = sender.subscribe();
        sender.heard(sender.origin().as_bytes());
        assert_eq!(wakeup.0.has_changed().ok(), Some(false));
        sender.heard(other.origin().as_bytes());
        assert_eq!(wakeup.0.has_changed().ok(), Some(true));
    }
}
