//! Pruning now what the workers' pruner deletes in time: finished jobs and
//! batch records past their retention, and old audit records; a dry run
//! only counts them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use errand::maintenance::Retention;
use errand::store::{AuditLog, MAX_AUDIT_PAGE};
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
    /// Audit records made longer ago than this go (default 90d).
    pub audit: Option<String>,
    /// Count what would go, delete nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// One line of a prune report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneLine {
    /// `completed`, `failed`, `cancelled`, `batches` or `audit`.
    pub what: String,
    /// What finished (audit records: was made) before this went (`None`:
    /// kept forever).
    pub finished_before: Option<DateTime<Utc>>,
    /// How many went (or would go, on a dry run).
    pub count: u64,
}

/// What a prune did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Only counted.
    pub dry_run: bool,
    /// One line per state, then batches, then audit records.
    pub pruned: Vec<PruneLine>,
}

/// A retention option: a duration from a second to 100 years, or `off` to
/// keep forever.
fn retention(field: &str, value: Option<&str>, default: &str) -> Result<Option<Duration>> {
    let value = value.unwrap_or(default);
    if value == "off" {
        return Ok(None);
    }
    let keep = humantime::parse_duration(value).map_err(|e| {
        Error::invalid(
            field,
            value,
            format!("{e} (use a duration such as 1d or 12h, or off)"),
        )
    })?;
    // The error quotes the value as given ("0s"), not as parsed.
    Retention::check(field, keep).map_err(|e| match e {
        Error::Invalid { reason, .. } => Error::invalid(field, value, reason),
        other => other,
    })?;
    Ok(Some(keep))
}

/// What one line of a prune removes.
#[derive(Clone, Copy)]
enum Target {
    Jobs(JobState),
    Batches,
    Audit,
}

/// What one line prunes: its name, what it removes and the cutoff (`None`:
/// kept forever).
type Cutoff = (&'static str, Target, Option<DateTime<Utc>>);

impl PruneRequest {
    /// Checks every retention (what [`Api::prune`] does first).
    pub fn check(&self, now: DateTime<Utc>) -> Result<()> {
        self.plan(now).map(drop)
    }

    /// What to prune and each cutoff, every retention checked.
    fn plan(&self, now: DateTime<Utc>) -> Result<Vec<Cutoff>> {
        [
            (
                "completed",
                Target::Jobs(JobState::Completed),
                &self.completed,
                "1d",
            ),
            ("failed", Target::Jobs(JobState::Failed), &self.failed, "7d"),
            (
                "cancelled",
                Target::Jobs(JobState::Cancelled),
                &self.cancelled,
                "7d",
            ),
            ("batches", Target::Batches, &self.batches, "7d"),
            ("audit", Target::Audit, &self.audit, "90d"),
        ]
        .into_iter()
        .map(|(what, target, value, default)| {
            let before = retention(what, value.as_deref(), default)?
                .map(|keep| errand::validate::before(what, now, keep))
                .transpose()?;
            Ok((what, target, before))
        })
        .collect()
    }
}

impl Api {
    /// Deletes (or, on a dry run, counts) what is past its retention.
    pub async fn prune(&self, request: PruneRequest) -> Result<PruneReport> {
        self.prune_with(request, |_, _| {}).await
    }

    /// [`Api::prune`], telling `progress` what it prunes and how many went
    /// so far (the CLI's progress bar).
    pub async fn prune_with(
        &self,
        request: PruneRequest,
        mut progress: impl FnMut(&str, u64) + Send,
    ) -> Result<PruneReport> {
        let plan = request.plan(Utc::now())?;
        let client = &self.client;
        let mut pruned = Vec::new();
        for (what, target, before) in plan {
            let dry = request.dry_run;
            progress(what, 0);
            let count = match (before, target) {
                (None, _) => 0,
                (Some(before), Target::Jobs(state)) if dry => {
                    count_jobs(client, state, before).await?
                }
                (Some(before), Target::Jobs(state)) => {
                    client
                        .prune_with(state, before, |n| progress(what, n))
                        .await?
                }
                (Some(before), Target::Batches) if dry => count_batches(client, before).await?,
                (Some(before), Target::Batches) => client.prune_batches(before).await?,
                (Some(before), Target::Audit) if dry => count_audit(client, before).await?,
                (Some(before), Target::Audit) => client.store().prune_audit(before).await?,
            };
            pruned.push(PruneLine {
                what: what.to_owned(),
                finished_before: before,
                count,
            });
        }
        if !request.dry_run {
            let count = pruned.iter().map(|line| line.count).sum();
            self.audit("prune", None, super::audit::filter_of(&request), count)
                .await?;
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

/// Audit records made before `before`.
async fn count_audit(client: &Client, before: DateTime<Utc>) -> Result<u64> {
    let mut count = 0;
    let mut before_id = None;
    loop {
        let page = client
            .store()
            .audit_records(before_id, MAX_AUDIT_PAGE)
            .await?;
        count += page.iter().filter(|r| r.record.at < before).count() as u64;
        match page.last() {
            Some(last) if page.len() == MAX_AUDIT_PAGE as usize => before_id = Some(last.id),
            _ => return Ok(count),
        }
    }
}
