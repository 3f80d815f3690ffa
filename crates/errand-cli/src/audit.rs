//! `errand audit`: the changes operators made, newest first.

use clap::Args;
use errand_admin::AuditQuery;

use crate::jobs::{api, print_json, print_table, short_time};
use crate::store::Target;

/// `errand audit`: a page of audit records.
#[derive(Args, Debug)]
pub(crate) struct AuditArgs {
    /// Only records with an id below this one (the page before's `next_before`).
    #[arg(long)]
    before: Option<i64>,
    /// Most records shown: 1 to 1,000.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

pub(crate) async fn run(target: Target<'_>, args: AuditArgs, json: bool) -> anyhow::Result<()> {
    let query = AuditQuery {
        before: args.before,
        limit: Some(args.limit),
    };
    let page = api(target, false).await?.audit_records(query).await?;
    if json {
        return print_json(&page);
    }
    let rows: Vec<Vec<String>> = page
        .records
        .iter()
        .map(|r| {
            let record = &r.record;
            vec![
                r.id.to_string(),
                short_time(Some(record.at)),
                record.actor.clone(),
                record.action.clone(),
                record.target.clone().unwrap_or_default(),
                record
                    .filter
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                record.count.to_string(),
            ]
        })
        .collect();
    print_table(
        &["id", "at", "actor", "action", "target", "filter", "count"],
        &rows,
    );
    if let Some(next) = page.next_before {
        println!("more: --before {next}");
    }
    Ok(())
}
