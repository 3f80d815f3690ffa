//! Jobs: list with filters, show, enqueue, retry (one or every match),
//! cancel, delete, run now.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use errand::store::WorkerBeat;
use errand::{
    Cancellation, Error, JobId, JobRow, JobState, ListParams, NewJob, Result, RetryFilter,
    RetryMatching, Unique,
};
use serde::{Deserialize, Serialize};

use super::Api;

/// Rows per page when a query does not say.
const DEFAULT_PAGE: u32 = 50;

/// Which jobs to list: every filter set must match; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// Only jobs in this public state.
    pub state: Option<JobState>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs of this queue.
    pub queue: Option<String>,
    /// Only jobs of this tenant.
    pub tenant: Option<String>,
    /// Only jobs of this batch.
    pub batch: Option<i64>,
    /// Only the job holding this unique key.
    pub unique_key: Option<String>,
    /// Only the job with this id.
    pub id: Option<i64>,
    /// Only jobs with an attempt error containing this text (ASCII letters
    /// in either case).
    pub error: Option<String>,
    /// Only jobs with an id below this one: the `next_before` of the page before.
    pub before: Option<i64>,
    /// Most jobs in the page: 1 to 10,000 (default 50).
    pub limit: Option<u32>,
}

impl JobQuery {
    /// The store's list parameters, every filter checked.
    fn params(&self) -> Result<ListParams> {
        let params = ListParams {
            state: self.state,
            kind: self.kind.clone(),
            queue: self.queue.clone(),
            tenant: self.tenant.clone(),
            batch_id: self.batch,
            unique_key: self.unique_key.clone(),
            error_contains: self.error.clone(),
            before_id: self.before.map(JobId),
            limit: self.limit.unwrap_or(DEFAULT_PAGE),
            now: Utc::now(),
        };
        params.validate()?;
        Ok(params)
    }
}

/// One page of jobs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobsPage {
    /// The jobs.
    pub jobs: Vec<JobRow>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<JobId>,
}

/// What an action on one job did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobAction {
    /// The job.
    pub id: JobId,
    /// `enqueued`, `duplicate`, `retried`, `cancelled`, `cancel_requested`,
    /// `deleted` or `run_now`.
    pub result: String,
}

impl JobAction {
    fn new(id: JobId, result: &str) -> Self {
        JobAction {
            id,
            result: result.to_owned(),
        }
    }
}

/// A job to enqueue by kind, with a JSON input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnqueueRequest {
    /// The job kind.
    pub kind: String,
    /// The input (JSON; `null` when left out).
    #[serde(default)]
    pub input: serde_json::Value,
    /// The queue (default `default`).
    pub queue: Option<String>,
    /// Smaller runs first (default 0).
    pub priority: Option<i16>,
    /// Run at this time (default now).
    pub run_at: Option<DateTime<Utc>>,
    /// Run after this delay ("10s", "5m"); not with `run_at`.
    pub delay: Option<String>,
    /// Attempts allowed (default 25).
    pub max_attempts: Option<u32>,
    /// At most one unfinished job with this key.
    pub unique_key: Option<String>,
    /// The tenant.
    pub tenant: Option<String>,
    /// String metadata.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// Enqueue it even when workers are alive and none of them registers
    /// its kind for its queue (a typo would otherwise wait forever).
    #[serde(default)]
    pub allow_unknown_kind: bool,
}

impl EnqueueRequest {
    /// The job it asks for, every field checked.
    pub fn job(&self, now: DateTime<Utc>) -> Result<NewJob> {
        let run_at = match (&self.delay, self.run_at) {
            (Some(_), Some(at)) => {
                return Err(Error::invalid(
                    "run_at",
                    at.to_rfc3339(),
                    "give run_at or delay, not both",
                ));
            }
            (Some(delay), None) => {
                let d = humantime::parse_duration(delay).map_err(|e| {
                    Error::invalid(
                        "delay",
                        delay,
                        format!("{e} (use a positive duration such as 10s or 5m)"),
                    )
                })?;
                Some(errand::validate::after("delay", now, d)?)
            }
            (None, at) => at,
        };
        if let Some(at) = run_at {
            errand::validate::time("run_at", at)?;
        }
        let job = NewJob {
            kind: self.kind.clone(),
            queue: self.queue.clone().unwrap_or_else(|| "default".to_owned()),
            priority: self.priority.unwrap_or(0),
            tenant: self.tenant.clone(),
            input: self.input.clone(),
            run_at,
            max_attempts: self.max_attempts.unwrap_or(NewJob::DEFAULT_MAX_ATTEMPTS),
            unique: self.unique_key.clone().map(Unique::active),
            batch_id: None,
            cron: None,
            meta: self.meta.clone(),
        };
        job.validate(errand::validate::DEFAULT_MAX_INPUT_BYTES)?;
        Ok(job)
    }
}

impl Api {
    /// A page of jobs matching `query`, newest first.
    pub async fn jobs(&self, query: JobQuery) -> Result<JobsPage> {
        let params = query.params()?;
        let limit = params.limit as usize;
        let jobs = match query.id {
            // One id names at most one job: read it, then apply the other filters.
            Some(id) => self
                .client
                .get(JobId(id))
                .await?
                .filter(|job| matches(&params, job))
                .into_iter()
                .collect(),
            None => self.client.list(params).await?,
        };
        let next_before = (jobs.len() == limit)
            .then(|| jobs.last().map(|j| j.id))
            .flatten();
        Ok(JobsPage { jobs, next_before })
    }

    /// Enqueues a job by kind.
    pub async fn enqueue(&self, request: EnqueueRequest) -> Result<JobAction> {
        let job = request.job(Utc::now())?;
        if !request.allow_unknown_kind {
            self.check_served(&job).await?;
        }
        let done = self.client.enqueue_raw(vec![job]).await?;
        let first = done
            .first()
            .ok_or_else(|| Error::conflict("the store enqueued nothing and said nothing"))?;
        if first.duplicate {
            return Ok(JobAction::new(first.id, "duplicate"));
        }
        // The kind and queue, not the input: inputs can be large or private.
        let filter = serde_json::json!({"kind": request.kind, "queue": request.queue});
        self.audit("jobs.enqueue", Some(first.id.to_string()), Some(filter), 1)
            .await?;
        Ok(JobAction::new(first.id, "enqueued"))
    }

    /// Refuses a job that no live worker would run when some are alive:
    /// none registers its kind, or none that does serves its queue. With
    /// no live worker at all nothing is known, and the job is taken.
    async fn check_served(&self, job: &NewJob) -> Result<()> {
        let live = self.live_workers(Utc::now()).await?;
        if live.is_empty() {
            return Ok(());
        }
        let knows = |w: &&WorkerBeat| w.kinds.contains(&job.kind);
        if !live.iter().any(|w| knows(&w)) {
            let mut kinds: Vec<&str> = live
                .iter()
                .flat_map(|w| w.kinds.iter().map(String::as_str))
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            return Err(Error::invalid(
                "kind",
                &job.kind,
                format!(
                    "no live worker registers it (they register: {}); set allow_unknown_kind to enqueue it anyway",
                    kinds.join(", ")
                ),
            ));
        }
        if !live
            .iter()
            .filter(knows)
            .any(|w| w.queues.contains(&job.queue))
        {
            return Err(Error::invalid(
                "queue",
                &job.queue,
                format!(
                    "no live worker that registers {} serves it; set allow_unknown_kind to enqueue it anyway",
                    job.kind
                ),
            ));
        }
        Ok(())
    }

    /// Runs a finished job again.
    pub async fn retry(&self, id: JobId) -> Result<JobAction> {
        self.client.retry(id).await?;
        self.audit("jobs.retry", Some(id.to_string()), None, 1)
            .await?;
        Ok(JobAction::new(id, "retried"))
    }

    /// Retries every finished job `filter` matches (it needs a filter or `all`).
    pub async fn retry_matching(&self, filter: RetryFilter) -> Result<RetryMatching> {
        self.retry_matching_with(filter, |_| {}).await
    }

    /// [`Api::retry_matching`], telling `progress` the totals after each
    /// page (the CLI's progress bar).
    pub async fn retry_matching_with(
        &self,
        filter: RetryFilter,
        progress: impl FnMut(&RetryMatching) + Send,
    ) -> Result<RetryMatching> {
        filter.validate()?;
        let done = self.client.retry_matching_with(&filter, progress).await?;
        self.audit(
            "jobs.retry_matching",
            None,
            super::audit::filter_of(&filter),
            done.retried,
        )
        .await?;
        Ok(done)
    }

    /// Cancels a waiting job, or asks a running one to stop.
    pub async fn cancel(&self, id: JobId) -> Result<JobAction> {
        let result = match self.client.cancel(id).await? {
            Cancellation::Cancelled => "cancelled",
            Cancellation::Requested => "cancel_requested",
        };
        self.audit("jobs.cancel", Some(id.to_string()), None, 1)
            .await?;
        Ok(JobAction::new(id, result))
    }

    /// Deletes a job that is not running.
    pub async fn delete(&self, id: JobId) -> Result<JobAction> {
        self.client.delete(id).await?;
        self.audit("jobs.delete", Some(id.to_string()), None, 1)
            .await?;
        Ok(JobAction::new(id, "deleted"))
    }

    /// Makes a waiting job due now.
    pub async fn run_now(&self, id: JobId) -> Result<JobAction> {
        self.client
            .reschedule(id, Some(Utc::now()), None, None)
            .await?;
        self.audit("jobs.run_now", Some(id.to_string()), None, 1)
            .await?;
        Ok(JobAction::new(id, "run_now"))
    }
}

/// Whether `job` passes the filters of `params` (for a lookup by id).
fn matches(params: &ListParams, job: &JobRow) -> bool {
    let text = |wanted: &Option<String>, have: &str| wanted.as_deref().is_none_or(|w| w == have);
    params.state.is_none_or(|s| s == job.state)
        && text(&params.kind, &job.kind)
        && text(&params.queue, &job.queue)
        && params
            .tenant
            .as_deref()
            .is_none_or(|t| job.tenant.as_deref() == Some(t))
        && params.batch_id.is_none_or(|b| job.batch_id == Some(b))
        && params
            .unique_key
            .as_deref()
            .is_none_or(|k| job.unique_key.as_deref() == Some(k))
        && params.before_id.is_none_or(|b| job.id < b)
        && params.error_contains.as_deref().is_none_or(|needle| {
            let needle = needle.to_ascii_lowercase();
            job.errors
                .iter()
                .any(|e| e.message.to_ascii_lowercase().contains(&needle))
        })
}
