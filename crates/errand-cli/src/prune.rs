//! `errand prune [--dry-run]`: what the workers' pruner does, now.

use chrono::Utc;
use clap::Args;
use errand_admin::PruneRequest;

use crate::jobs::{api, print_json};
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
    /// Audit records made longer ago than this go.
    #[arg(long, default_value = "90d", allow_hyphen_values = true)]
    audit: String,
    /// Count what would go, delete nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) async fn run(target: Target<'_>, args: PruneArgs, json: bool) -> anyhow::Result<()> {
    let request = PruneRequest {
        completed: Some(args.completed),
        failed: Some(args.failed),
        cancelled: Some(args.cancelled),
        batches: Some(args.batches),
        audit: Some(args.audit),
        dry_run: args.dry_run,
    };
    // Checked before the store is opened: bad input touches nothing.
    request.check(Utc::now())?;
    let bar = crate::progress::spinner("pruning");
    let report = api(target, false)
        .await?
        .prune_with(request, |what, so_far| {
            bar.set_message(format!("pruning {what}: {so_far}"));
        })
        .await;
    bar.finish_and_clear();
    let report = report?;
    if json {
        return print_json(&report);
    }
    let verb = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for line in &report.pruned {
        match line.finished_before {
            Some(before) => println!(
                "{verb} {} {} finished before {}",
                line.count,
                match line.what.as_str() {
                    "batches" => "batch records",
                    "audit" => "audit records",
                    what => what,
                },
                before.format("%Y-%m-%d %H:%M:%S")
            ),
            None => println!("kept all {} (off)", line.what),
        }
    }
    Ok(())
}
