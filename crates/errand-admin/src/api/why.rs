//! "Why is this job not running?": what holds a waiting job, read from its
//! due time, the pauses, the live workers' heartbeats and their limits.

use chrono::{DateTime, Utc};
use errand::store::WorkerBeat;
use errand::{JobId, JobRow, JobState, ListParams, PauseScope, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// One thing that holds a waiting job back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// `run_at` (not due yet), `paused`, `no_worker` (no live worker runs
    /// its kind in its queue) or `limit` (a limit across the cluster is full).
    pub reason: String,
    /// What holds it, in a sentence.
    pub message: String,
}

fn hold(reason: &str, message: String) -> Hold {
    Hold {
        reason: reason.to_owned(),
        message,
    }
}

/// A job with what holds it, when it waits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    /// The job, with its input, output and every attempt's error.
    #[serde(flatten)]
    pub job: JobRow,
    /// What keeps a waiting job from running now; empty when nothing does
    /// (the next claim takes it) or when it is not waiting.
    pub waiting_on: Vec<Hold>,
}

impl Api {
    /// One job, and what holds it if it waits.
    pub async fn job(&self, id: JobId) -> Result<JobDetail> {
        let job = self
            .client
            .get(id)
            .await?
            .ok_or_else(|| errand::Error::job_not_found(id))?;
        let waiting_on = if matches!(
            job.state,
            JobState::Scheduled | JobState::Available | JobState::Retrying
        ) {
            self.holds(&job, Utc::now()).await?
        } else {
            Vec::new()
        };
        Ok(JobDetail { job, waiting_on })
    }

    async fn holds(&self, job: &JobRow, now: DateTime<Utc>) -> Result<Vec<Hold>> {
        let mut holds = Vec::new();
        if job.run_at > now {
            holds.push(hold(
                "run_at",
                format!("it is due at {}", job.run_at.to_rfc3339()),
            ));
        }
        for pause in self.client.pauses().await? {
            let applies = match &pause.scope {
                PauseScope::All => true,
                PauseScope::Queue(queue) => *queue == job.queue,
                PauseScope::Tenant(tenant) => job.tenant.as_deref() == Some(tenant.as_str()),
            };
            if applies {
                let why = pause
                    .note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                holds.push(hold(
                    "paused",
                    format!(
                        "{} is paused by {} since {}{why}",
                        pause.scope,
                        pause.by,
                        pause.at.to_rfc3339()
                    ),
                ));
            }
        }
        let live = self.live_workers(now).await?;
        let runners: Vec<&WorkerBeat> = live
            .iter()
            .filter(|w| w.kinds.contains(&job.kind) && w.queues.contains(&job.queue))
            .collect();
        if runners.is_empty() {
            let message = if live.is_empty() {
                "no worker is alive (none has sent a heartbeat in the last 30 seconds)".to_owned()
            } else if live.iter().any(|w| w.kinds.contains(&job.kind)) {
                format!(
                    "no live worker that registers kind {} serves queue {}",
                    job.kind, job.queue
                )
            } else {
                format!("no live worker registers kind {}", job.kind)
            };
            holds.push(hold("no_worker", message));
        }
        // Full limits hold only a job that could run now.
        if holds.is_empty() {
            holds.extend(self.full_limits(job, &runners, now).await?);
        }
        Ok(holds)
    }

    /// The limits across the cluster that `runners` (the live workers that
    /// could run `job`) apply and that are full.
    async fn full_limits(
        &self,
        job: &JobRow,
        runners: &[&WorkerBeat],
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>> {
        let mut holds = Vec::new();
        let running = |kind: Option<&str>, tenant: Option<&str>, limit: u32| ListParams {
            state: Some(JobState::Running),
            kind: kind.map(str::to_owned),
            tenant: tenant.map(str::to_owned),
            limit: limit.clamp(1, errand::store::MAX_LIST_PAGE),
            now,
            ..ListParams::default()
        };
        let kind_limit = runners
            .iter()
            .filter_map(|w| w.global_limits.get(&job.kind).copied())
            .max();
        if let Some(limit) = kind_limit {
            let n = self
                .client
                .list(running(Some(&job.kind), None, limit))
                .await?
                .len();
            if n >= limit as usize {
                holds.push(hold(
                    "limit",
                    format!(
                        "kind {} is at its global limit: {n} of {limit} running",
                        job.kind
                    ),
                ));
            }
        }
        if let Some(tenant) = job.tenant.as_deref() {
            let tenant_limit = runners
                .iter()
                .filter_map(|w| w.tenant_limits.get(tenant).copied().or(w.tenant_limit))
                .max();
            if let Some(limit) = tenant_limit {
                let n = self
                    .client
                    .list(running(None, Some(tenant), limit))
                    .await?
                    .len();
                if n >= limit as usize {
                    holds.push(hold(
                        "limit",
                        format!("tenant {tenant} is at its limit: {n} of {limit} running"),
                    ));
                }
            }
        }
        Ok(holds)
    }
}
