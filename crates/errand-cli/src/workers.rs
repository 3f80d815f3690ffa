//! `errand workers`: every worker process by its heartbeat.

use crate::jobs::{api, print_json, print_table, short_time};
use crate::store::Target;

pub(crate) async fn run(target: Target<'_>, json: bool) -> anyhow::Result<()> {
    let body = api(target, false).await?.workers().await?;
    if json {
        return print_json(&body);
    }
    let rows: Vec<Vec<String>> = body
        .workers
        .iter()
        .map(|w| {
            let b = &w.beat;
            vec![
                b.name.clone(),
                if w.alive { "alive" } else { "dead" }.to_owned(),
                b.host.clone(),
                b.pid.to_string(),
                format!("{}/{}", b.running, b.concurrency),
                b.queues.join(","),
                b.kinds.join(","),
                short_time(Some(b.started_at)),
                short_time(Some(b.beat_at)),
            ]
        })
        .collect();
    print_table(
        &[
            "name",
            "state",
            "host",
            "pid",
            "running",
            "queues",
            "kinds",
            "started",
            "last beat",
        ],
        &rows,
    );
    Ok(())
}
