//! `errand tenants`: every tenant with jobs or a pause, by name.

use clap::Args;
use errand::JobState;
use errand_admin::TenantQuery;

use crate::jobs::{api, print_json, print_table};
use crate::store::Target;

/// `errand tenants`: a page of tenants with their jobs by state.
#[derive(Args, Debug)]
pub(crate) struct TenantsArgs {
    /// Only tenants whose name sorts after this one (the page before's
    /// `next_after`).
    #[arg(long)]
    after: Option<String>,
    /// Most tenants shown: 1 to 1,000.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

pub(crate) async fn run(target: Target<'_>, args: TenantsArgs, json: bool) -> anyhow::Result<()> {
    let query = TenantQuery {
        after: args.after,
        limit: Some(args.limit),
    };
    // Checked before the store is opened: bad input touches nothing.
    query.validate()?;
    let page = api(target, false).await?.tenants(query).await?;
    if json {
        return print_json(&page);
    }
    const STATES: [JobState; 7] = JobState::ALL;
    let rows: Vec<Vec<String>> = page
        .tenants
        .iter()
        .map(|t| {
            let mut row = vec![
                t.tenant.clone(),
                t.paused
                    .as_ref()
                    .map_or_else(String::new, |p| format!("paused by {}", p.by)),
            ];
            row.extend(
                STATES
                    .iter()
                    .map(|s| t.counts.get(s).copied().unwrap_or(0).to_string()),
            );
            row.push(t.total.to_string());
            row
        })
        .collect();
    let mut header = vec!["tenant", "pause"];
    header.extend(STATES.iter().map(|s| s.as_str()));
    header.push("total");
    print_table(&header, &rows);
    if let Some(next) = page.next_after {
        println!("more: --after {next}");
    }
    Ok(())
}
