//! `errand prune [--dry-run]`: what the workers' pruner does, now.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use errand::maintenance::Retention;
use errand::{BatchId, Client, Error, JobId, JobState, ListParams};
use serde::Serialize;

use crate::jobs::client;
use crate::store::Target;

/// `errand prune`: each retention is a duration ("1d", "12h") or "off".
#[derive(Args, Debug)]
pub(crate) struct PruneArgs {
    /// Completed jobs finished longer ago than this go.
    #[arg(long, default_value = "1d", allow_hyphen_values = true)]
    completed: String,
    /// Failed jobs (the dead letters) finished longer ago than this go.
    #[arg(long, default_value = "7d", allow_hyphen_values = true)]
    failed: String,
    /// Cancelled jobs finished longer ago than this go.
    #[arg(long, default_value = "7d", allow_hyphen_values = true)]
    cancelled: String,
    /// Records of batches finished longer ago than this go.
    #[arg(long, default_value = "7d", allow_hyphen_values = true)]
    batches: String,
    /// Count what would go, delete nothing.
    #[arg(long)]
    dry_run: bool,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Pruned {
    /// completed, failed, cancelled or batches.
    what: &'static str,
    /// The cutoff: what finished before it goes (`None`: kept forever).
    finished_before: Option<DateTime<Utc>>,
    /// How many went (or would go, on a dry run).
    count: u64,
}

/// A retention option: a duration, or `off` to keep forever.
fn retention(field: &str, value: &str) -> Result<Option<Duration>, Error> {
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

pub(crate) async fn run(target: Target<'_>, args: PruneArgs, json: bool) -> anyhow::Result<()> {
    let keep = Retention {
        completed: retention("completed", &args.completed)?,
        failed: retention("failed", &args.failed)?,
        cancelled: retention("cancelled", &args.cancelled)?,
        batches: retention("batches", &args.batches)?,
    };
    // Checked before the store is opened: bad input touches nothing.
    keep.validate()?;
    let now = Utc::now();
    let mut plan = Vec::new();
    for (what, state, kept) in [
        ("completed", Some(JobState::Completed), keep.completed),
        ("failed", Some(JobState::Failed), keep.failed),
        ("cancelled", Some(JobState::Cancelled), keep.cancelled),
        ("batches", None, keep.batches),
    ] {
        let before = kept
            .map(|k| errand::validate::before(what, now, k))
            .transpose()?;
        plan.push((what, state, before));
    }
    let client = client(target, false).await?;
    let mut report = Vec::new();
    for (what, state, before) in plan {
        let count = match (before, state) {
            (None, _) => 0,
            (Some(before), Some(state)) if args.dry_run => {
                count_jobs(&client, state, before).await?
            }
            (Some(before), Some(state)) => client.prune(state, before).await?,
            (Some(before), None) if args.dry_run => count_batches(&client, before).await?,
            (Some(before), None) => client.prune_batches(before).await?,
        };
        report.push(Pruned {
            what,
            finished_before: before,
            count,
        });
    }
    if json {
        let body = serde_json::json!({"dry_run": args.dry_run, "pruned": report});
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for line in &report {
        match line.finished_before {
            Some(before) => println!(
                "{verb} {} {} finished before {}",
                line.count,
                if line.what == "batches" {
                    "batch records"
                } else {
                    line.what
                },
                before.format("%Y-%m-%d %H:%M:%S")
            ),
            None => println!("kept all {} (off)", line.what),
        }
    }
    Ok(())
}

/// Jobs in `state` that finished before `before`, walked a page at a time
/// (a dry run reads what a prune would delete, and deletes nothing).
async fn count_jobs(
    client: &Client,
    state: JobState,
    before: DateTime<Utc>,
) -> anyhow::Result<u64> {
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
async fn count_batches(client: &Client, before: DateTime<Utc>) -> anyhow::Result<u64> {
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
