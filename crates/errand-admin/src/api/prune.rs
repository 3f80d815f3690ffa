//! Pruning now what the workers' pruner deletes in time: finished jobs and
//! batch records past their retention; a dry run only counts them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use errand::maintenance::Retention;
use errand::{BatchId, Client, Error, JobId, JobState, ListParams, Result};
use serde::{Deserialize, Serialize};

use super::Api;

/// Retentions, each a duration ("1d", "12h") or "off" (keep forever).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneRequest {
    /// Completed jobs finished longer ago than this go (default 1d).
    pub completed: Option<String>,
    /// Failed jobs (the dead letters) finished longer ago than this go (default 7d).
    pub failed: Option<String>,
    /// Cancelled jobs finished longer ago than this go (default 7d).
    pub cancelled: Option<String>,
    /// Records of batches finished longer ago than this go (default 7d).
    pub batches: Option<String>,
    /// Count what would go, delete nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// One line of a prune report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneLine {
    /// `completed`, `failed`, `cancelled` or `batches`.
    pub what: String,
    /// What finished before this went (`None`: kept forever).
    pub finished_before: Option<DateTime<Utc>>,
    /// How many went (or would go, on a dry run).
    pub count: u64,
}

/// What a prune did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Only counted.
    pub dry_run: bool,
    /// One line per state, then batches.
    pub pruned: Vec<PruneLine>,
}

/// A retention option: a duration, or `off` to keep forever.
fn retention(field: &str, value: Option<&str>, default: &str) -> Result<Option<Duration>> {
    let value = value.unwrap_or(default);
    if value == "off" {
        return Ok(None);
    }
    humantime::parse_duration(value).map(Some).map_err(|e| {
        Error::invalid(
            field,
            value,
            format!("{e} (use a duration such as 1d or 12h, or off)"),
        )
    })
}

/// What one line prunes: its name, the job state (`None`: batch records)
/// and what finished before when goes (`None`: kept forever).
type Cutoff = (&'static str, Option<JobState>, Option<DateTime<Utc>>);

impl PruneRequest {
    /// Checks every retention (what [`Api::prune`] does first).
    pub fn check(&self, now: DateTime<Utc>) -> Result<()> {
        self.plan(now).map(drop)
    }

    /// What to prune: per state (`None`: batch records) the cutoff, every
    /// retention checked.
    fn plan(&self, now: DateTime<Utc>) -> Result<Vec<Cutoff>> {
        let keep = Retention {
            completed: retention("completed", self.completed.as_deref(), "1d")?,
            failed: retention("failed", self.failed.as_deref(), "7d")?,
            cancelled: retention("cancelled", self.cancelled.as_deref(), "7d")?,
            batches: retention("batches", self.batches.as_deref(), "7d")?,
        };
        keep.validate()?;
        [
            ("completed", Some(JobState::Completed), keep.completed),
            ("failed", Some(JobState::Failed), keep.failed),
            ("cancelled", Some(JobState::Cancelled), keep.cancelled),
            ("batches", None, keep.batches),
        ]
        .into_iter()
        .map(|(what, state, kept)| {
            let before = kept
                .map(|k| errand::validate::before(what, now, k))
                .transpose()?;
            Ok((what, state, before))
        })
        .collect()
    }
}

impl Api {
    /// Deletes (or, on a dry run, counts) what is past its retention.
    pub async fn prune(&self, request: PruneRequest) -> Result<PruneReport> {
        let plan = request.plan(Utc::now())?;
        let client = &self.client;
        let mut pruned = Vec::new();
        for (what, state, before) in plan {
            let count = match (before, state) {
                (None, _) => 0,
                (Some(before), Some(state)) if request.dry_run => {
                    count_jobs(client, state, before).await?
                }
                (Some(before), Some(state)) => client.prune(state, before).await?,
                (Some(before), None) if request.dry_run => count_batches(client, before).await?,
                (Some(before), None) => client.prune_batches(before).await?,
            };
            pruned.push(PruneLine {
                what: what.to_owned(),
                finished_before: before,
                count,
            });
        }
        Ok(PruneReport {
            dry_run: request.dry_run,
            pruned,
        })
    }
}

/// Jobs in `state` that finished before `before`, walked a page at a time
/// (a dry run reads what a prune would delete, and deletes nothing).
async fn count_jobs(client: &Client, state: JobState, before: DateTime<Utc>) -> Result<u64> {
    const PAGE: u32 = 10_000;
    let mut count = 0;
    let mut before_id: Option<JobId> = None;
    loop {
        let page = client
            .list(ListParams {
                state: Some(state),
                before_id,
                limit: PAGE,
                ..ListParams::default()
            })
            .await?;
        count += page
            .iter()
            .filter(|job| job.finished_at.is_some_and(|at| at < before))
            .count() as u64;
        match page.last() {
            Some(last) if page.len() == PAGE as usize => before_id = Some(last.id),
            _ => return Ok(count),
        }
    }
}

/// Batches that finished before `before`.
async fn count_batches(client: &Client, before: DateTime<Utc>) -> Result<u64> {
    let page_size = errand::store::MAX_BATCH_PAGE;
    let mut count = 0;
    let mut before_id: Option<BatchId> = None;
    loop {
        let page = client.batches(None, before_id, page_size).await?;
        count += page
            .iter()
            .filter(|b| b.finished_at.is_some_and(|at| at < before))
            .count() as u64;
        match page.last() {
            Some(last) if page.len() == page_size as usize => before_id = Some(last.id),
            _ => return Ok(count),
        }
    }
}
