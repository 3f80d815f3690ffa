//! Processing by hand: everything that is due, now, in the caller's task.

use chrono::{DateTime, Utc};
use errand_core::store::{FinalizeParams, Outcome};
use errand_core::{CancellationToken, Result};
use futures::future::join_all;

use super::Worker;
use super::executor::{Attempted, execute};
use super::fetch::{InFlight, claim_params};

/// What a [`Worker::drain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DrainSummary {
    /// Attempts that completed.
    pub completed: u64,
    /// Attempts that failed and will be retried.
    pub retried: u64,
    /// Attempts that failed for good.
    pub failed: u64,
    /// Attempts that ended cancelled.
    pub cancelled: u64,
    /// Attempts that snoozed.
    pub snoozed: u64,
    /// Results dropped because the job had been handed to another attempt.
    pub stale: u64,
}

impl DrainSummary {
    /// Attempts run in all.
    pub fn total(&self) -> u64 {
        self.completed + self.retried + self.failed + self.cancelled + self.snoozed + self.stale
    }
}

impl Worker {
    /// Processes every job that is due, until none is left, and returns a
    /// summary. Jobs retried with a delay of zero run again in the same drain.
    /// Runs the worker's maintenance services once before (rescuing dead
    /// workers' jobs) and once after (the upkeep the work calls for). For an
    /// HTTP endpoint, a serverless function, a cron script or a test.
    pub async fn drain(&self) -> Result<DrainSummary> {
        self.drain_with(None).await
    }

    /// [`drain`](Self::drain) as if the clock read `now`: jobs due by then
    /// run (a test moves time forward instead of waiting), retries are due
    /// after their backoff from `now`, and the maintenance services run at
    /// `now` (a lease that ends before it has expired).
    pub async fn drain_at(&self, now: DateTime<Utc>) -> Result<DrainSummary> {
        self.drain_with(Some(now)).await
    }

    async fn drain_with(&self, clock: Option<DateTime<Utc>>) -> Result<DrainSummary> {
        let now = || clock.unwrap_or_else(Utc::now);
        let shared = &self.shared;
        let mut summary = DrainSummary::default();
        self.maintain(now()).await;
        loop {
            let params = claim_params(
                shared,
                shared.config.concurrency,
                &InFlight::default(),
                now(),
            );
            let jobs = shared.store.claim(params).await?;
            shared.claimed(&jobs);
            if jobs.is_empty() {
                // After the work, the upkeep it calls for (a vacuum after
                // many ended jobs, say).
                self.maintain(now()).await;
                return Ok(summary);
            }
            let attempts = join_all(
                jobs.into_iter()
                    .map(|job| execute(shared, job, CancellationToken::new(), clock)),
            )
            .await;
            let mut items = Vec::new();
            for attempted in attempts {
                match attempted {
                    Attempted::Finalize(item) => items.push(item),
                    Attempted::Committed(true) => summary.completed += 1,
                    Attempted::Committed(false) => summary.stale += 1,
                }
            }
            if items.is_empty() {
                continue;
            }
            let applied = shared
                .store
                .finalize(FinalizeParams {
                    frees_global_slots: shared.config.limits_cluster(),
                    worker: shared.config.name.clone(),
                    items: items.clone(),
                    now: now(),
                })
                .await?;
            let mut hooks = Vec::new();
            for (item, ok) in items.iter().zip(applied) {
                hooks.extend(shared.hooks.ended(item.id, item.attempt, ok));
                let counter = match (&item.outcome, ok) {
                    (_, false) => &mut summary.stale,
                    (Outcome::Complete { .. }, _) => &mut summary.completed,
                    (Outcome::Retry { .. }, _) => &mut summary.retried,
                    (Outcome::Fail { .. }, _) => &mut summary.failed,
                    (Outcome::Cancel { .. }, _) => &mut summary.cancelled,
                    (Outcome::Snooze { .. } | Outcome::Release, _) => &mut summary.snoozed,
                };
                *counter += 1;
            }
            // A drain returns once its hooks ran (each logs its own failure).
            join_all(hooks).await;
        }
    }
}
