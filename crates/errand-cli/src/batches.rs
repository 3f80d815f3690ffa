//! `errand batches list|totals|show|cancel`.

use clap::{Args, Subcommand};
use errand::store::ListBatchesParams;
use errand::{Batch, BatchId};
use errand_admin::BatchQuery;

use crate::jobs::{api, print_json, print_table, short_time};
use crate::store::Target;

/// `errand batches ...`
#[derive(Subcommand, Debug)]
pub(crate) enum BatchesCommand {
    /// Batches newest first, with their progress.
    List(ListArgs),
    /// The batches on record summed: how many, how many unfinished, their
    /// jobs by state (for one tenant, or all).
    Totals {
        /// Only this tenant's batches.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// One batch: its counts, times and continuations.
    Show {
        /// The batch id.
        id: i64,
    },
    /// Cancel a batch: waiting jobs at once, running ones asked to stop; it
    /// takes no more jobs and finishes with its continuations.
    Cancel {
        /// The batch id.
        id: i64,
    },
}

/// `errand batches list`.
#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Only this tenant's batches.
    #[arg(long)]
    tenant: Option<String>,
    /// Only batches with an id below this one (the last id of the previous
    /// page).
    #[arg(long)]
    before: Option<i64>,
    /// Most batches to show (1 to 1000).
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

pub(crate) async fn run(
    target: Target<'_>,
    command: BatchesCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        BatchesCommand::List(args) => list(target, args, json).await,
        BatchesCommand::Totals { tenant } => totals(target, tenant, json).await,
        BatchesCommand::Show { id } => show(target, BatchId(id), json).await,
        BatchesCommand::Cancel { id } => cancel(target, BatchId(id), json).await,
    }
}

/// Where a batch stands, in a word.
fn phase(batch: &Batch) -> &'static str {
    match (batch.finished_at, batch.cancelled_at, batch.sealed) {
        (Some(_), Some(_), _) => "cancelled",
        (Some(_), None, _) => "finished",
        (None, Some(_), _) => "cancelling",
        (None, None, false) => "open",
        (None, None, true) => "running",
    }
}

/// Jobs ended of all jobs, as `ended/total`.
fn progress(batch: &Batch) -> String {
    let c = &batch.counts;
    format!("{}/{}", c.completed + c.failed + c.cancelled, c.total)
}

async fn list(target: Target<'_>, args: ListArgs, json: bool) -> anyhow::Result<()> {
    let query = BatchQuery {
        tenant: args.tenant,
        before: args.before,
        limit: Some(args.limit),
    };
    // Checked before the store is opened: bad input touches nothing.
    ListBatchesParams {
        tenant: query.tenant.clone(),
        before_id: None,
        limit: args.limit,
    }
    .validate()?;
    let page = api(target, false).await?.batches(query).await?;
    if json {
        return print_json(&page);
    }
    let rows: Vec<Vec<String>> = page
        .batches
        .iter()
        .map(|b| {
            vec![
                b.id.to_string(),
                b.tenant.clone().unwrap_or_else(|| "-".into()),
                phase(b).to_owned(),
                progress(b),
                b.counts.completed.to_string(),
                b.counts.failed.to_string(),
                b.counts.cancelled.to_string(),
                short_time(Some(b.created_at)),
                short_time(b.finished_at),
            ]
        })
        .collect();
    print_table(
        &[
            "id",
            "tenant",
            "state",
            "ended",
            "completed",
            "failed",
            "cancelled",
            "created",
            "finished",
        ],
        &rows,
    );
    if let Some(before) = page.next_before {
        println!("(more: --before {before})");
    }
    Ok(())
}

async fn totals(target: Target<'_>, tenant: Option<String>, json: bool) -> anyhow::Result<()> {
    if let Some(tenant) = &tenant {
        errand::validate::tenant(tenant)?;
    }
    let totals = api(target, false)
        .await?
        .batch_totals(tenant.as_deref())
        .await?;
    if json {
        return print_json(&totals);
    }
    let c = &totals.counts;
    println!(
        "{}: {} batches ({} unfinished), {} jobs: {} waiting, {} running, {} completed, {} failed, {} cancelled",
        totals
            .tenant
            .as_deref()
            .map_or_else(|| "all tenants".to_owned(), |t| format!("tenant {t}")),
        totals.batches,
        totals.unfinished,
        c.total,
        c.waiting,
        c.running,
        c.completed,
        c.failed,
        c.cancelled
    );
    Ok(())
}

async fn show(target: Target<'_>, id: BatchId, json: bool) -> anyhow::Result<()> {
    let batch = api(target, false).await?.batch(id).await?;
    if json {
        return print_json(&batch);
    }
    let c = &batch.counts;
    println!("batch {} ({})", batch.id, phase(&batch));
    if let Some(tenant) = &batch.tenant {
        println!("  tenant     {tenant}");
    }
    println!("  jobs       {} ({} ended)", c.total, progress(&batch));
    println!("  waiting    {}", c.waiting);
    println!("  running    {}", c.running);
    println!("  completed  {}", c.completed);
    println!("  failed     {}", c.failed);
    println!("  cancelled  {}", c.cancelled);
    println!("  created    {}", short_time(Some(batch.created_at)));
    if batch.cancelled_at.is_some() {
        println!("  cancel at  {}", short_time(batch.cancelled_at));
    }
    println!("  finished   {}", short_time(batch.finished_at));
    for cont in &batch.continuations {
        let state = match (batch.finished_at, cont.enqueued) {
            (_, true) => "enqueued",
            (Some(_), false) => "not enqueued",
            (None, false) => "waiting for the batch",
        };
        println!("  on_{:<8} {} ({state})", cont.on.as_str(), cont.kind);
    }
    Ok(())
}

async fn cancel(target: Target<'_>, id: BatchId, json: bool) -> anyhow::Result<()> {
    let done = api(target, false).await?.batch_cancel(id).await?;
    let outcome = done.outcome;
    if json {
        print_json(&done)?;
    } else {
        println!(
            "batch {id}: {} waiting jobs cancelled, {} running jobs asked to stop, {} already finished",
            outcome.cancelled, outcome.signalled, outcome.finished
        );
    }
    Ok(())
}
