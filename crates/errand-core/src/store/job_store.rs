//! [`JobStore`]: what workers call on the hot path.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Capabilities, Wakeup};
use crate::{AttemptError, JobId, JobRow, NewJob, Result, StateMap};

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
    /// `Some` when claims of this queue rotate among its tenants (fair
    /// claiming); `None` claims in the queue's usual order.
    pub fair: Option<FairTurn>,
}

/// Where a fair queue's rotation among tenants resumes.
///
/// Each round of a fair queue takes the first due job of every tenant with
/// due jobs, tenants in the store's order of their names, then the queue's
/// first due job in its usual order (which is how jobs without a tenant are
/// reached); a claim with room left goes on to the next round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FairTurn {
    /// The tenant served last (the round resumes after it); `None` starts a
    /// round.
    pub after: Option<String>,
}

/// Most jobs of one tenant running at once across every worker of the store.
/// Jobs without a tenant are not limited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantLimits {
    /// The limit of every tenant not named in `tenants` (`None`: unlimited).
    pub each: Option<u32>,
    /// Limits of named tenants, over `each`.
    pub tenants: std::collections::BTreeMap<String, u32>,
}

impl TenantLimits {
    /// Whether no tenant is limited.
    pub fn is_empty(&self) -> bool {
        self.each.is_none() && self.tenants.is_empty()
    }

    /// The limit of `tenant`, if any.
    pub fn of(&self, tenant: &str) -> Option<u32> {
        self.tenants.get(tenant).copied().or(self.each)
    }
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
    /// Tenants whose jobs are paused: skipped, left waiting. Usually empty;
    /// when not, stores may take a slower path.
    pub paused_tenants: Vec<String>,
    /// Per-tenant limits across the cluster. Usually empty; when not, stores
    /// take a slower path.
    pub tenant_limits: TenantLimits,
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

/// The statement a group of [`FinalizeGroups`] is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalizeStep {
    /// Completed attempts.
    Complete,
    /// Attempts to retry.
    Retry,
    /// Jobs ended for good in the given stored state (`failed`, `cancelled`).
    End(&'static str),
    /// Snoozed and released jobs.
    Snooze,
}

impl FinalizeGroups {
    /// The non-empty groups, each as one JSON array with the statement that
    /// writes it. Each statement ends its attempts independently of the
    /// others, so a store may run them one by one.
    pub fn steps(self) -> Vec<(FinalizeStep, serde_json::Value)> {
        [
            (FinalizeStep::Complete, self.complete),
            (FinalizeStep::Retry, self.retry),
            (FinalizeStep::End("failed"), self.fail),
            (FinalizeStep::End("cancelled"), self.cancel),
            (FinalizeStep::Snooze, self.snooze),
        ]
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(step, items)| (step, serde_json::Value::Array(items)))
        .collect()
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

impl LeaseStatus {
    /// The status of each job asked about, in the order asked, from the
    /// `(id, attempt, cancel_requested)` of the attempts the store found
    /// still held by the worker (and renewed).
    ///
    /// ```
    /// use errand_core::JobId;
    /// use errand_core::store::LeaseStatus;
    /// let asked = [(JobId(1), 1), (JobId(2), 3)];
    /// let statuses = LeaseStatus::of_held(&asked, [(2, 3, true)]);
    /// assert!(!statuses[0].held);
    /// assert!(statuses[1].held && statuses[1].cancel_requested);
    /// ```
    pub fn of_held(
        asked: &[(JobId, u32)],
        held: impl IntoIterator<Item = (i64, i64, bool)>,
    ) -> Vec<LeaseStatus> {
        let held: std::collections::HashMap<(i64, i64), bool> = held
            .into_iter()
            .map(|(id, attempt, cancel)| ((id, attempt), cancel))
            .collect();
        asked
            .iter()
            .map(|(id, attempt)| {
                let status = held.get(&(id.0, i64::from(*attempt)));
                LeaseStatus {
                    id: *id,
                    held: status.is_some(),
                    cancel_requested: status.copied().unwrap_or(false),
                }
            })
            .collect()
    }
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

/// The hot path of workers: enqueue, claim, finalize, keep leases, rescue,
/// wake-ups. Time-dependent operations take `now` so that tests control the
/// clock.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
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
    /// A receiver of wake-up signals: new jobs may be due.
    fn subscribe(&self) -> Wakeup;
    /// Adds what this store offers to jobs' extractors (for example what a
    /// transaction extractor needs) to a worker's shared values.
    fn provide(&self, _states: &mut StateMap) {}
    /// The maintenance services of the store's own upkeep, which every
    /// worker of it runs (none by default).
    fn services(&self) -> Vec<std::sync::Arc<dyn crate::maintenance::Service>> {
        Vec::new()
    }
    /// Whether this store already records errand's metrics and spans (the
    /// runtime's instrumented wrapper): wrapping it again would count twice.
    #[doc(hidden)]
    fn is_instrumented(&self) -> bool {
        false
    }
}

/// A shared store is a store: `Arc<dyn Store>` and `Arc<SqliteStore>` can be
/// handed to anything that takes `impl JobStore`.
#[async_trait]
impl<S: JobStore + ?Sized> JobStore for std::sync::Arc<S> {
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
    fn subscribe(&self) -> Wakeup {
        (**self).subscribe()
    }
    fn provide(&self, states: &mut StateMap) {
        (**self).provide(states)
    }
    fn services(&self) -> Vec<std::sync::Arc<dyn crate::maintenance::Service>> {
        (**self).services()
    }
    fn is_instrumented(&self) -> bool {
        (**self).is_instrumented()
    }
}
