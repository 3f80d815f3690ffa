//! Metrics for Prometheus: errand records through the `metrics` facade,
//! `install_prometheus` exports them as the text a `/metrics` endpoint
//! serves. Jobs run, one fails for good; the scrape shows both, per kind,
//! queue and tenant, with attempt durations, waits and the queue gauges.

use std::time::Duration;

use errand::{Backoff, Client, JobError, Worker};

#[errand::job(queue = "mail")]
async fn send_receipt(input: String) -> Result<(), JobError> {
    let _ = input;
    Ok(())
}

#[errand::job(max_attempts = 2)]
async fn sync_crm() -> Result<(), JobError> {
    Err(JobError::retry("the CRM answered 503"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in [
        "metrics.db",
        "metrics.db-wal",
        "metrics.db-shm",
        "metrics.db-errand-wake",
    ] {
        let _ = std::fs::remove_file(file);
    }
    // First the recorder, then the clients and workers that record.
    let prometheus = errand::observe::install_prometheus()?;
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://metrics.db").await?;
    let client = Client::new(store.clone());
    for order in ["A-1", "A-2", "A-3"] {
        client
            .enqueue(send_receipt::enqueue(order.to_owned()).tenant("acme"))
            .await?;
    }
    client.enqueue(sync_crm::enqueue()).await?;

    let worker = Worker::builder(store)
        .register(send_receipt::job())
        .register(sync_crm::job())
        .queues(["mail", "default"])
        .backoff(Backoff::Fixed(Duration::ZERO))
        .build()?;
    // A worker samples the queue gauges in its maintenance (every 10 s when
    // started); here once, by hand, before the jobs run.
    worker.maintain(chrono::Utc::now()).await;
    let before = prometheus.render();
    let summary = worker.drain().await?;
    println!(
        "drained: {} completed, {} retried, {} failed",
        summary.completed, summary.retried, summary.failed
    );

    let after = prometheus.render();
    let show = |text: &str, names: &[&str]| -> Vec<String> {
        text.lines()
            .filter(|line| names.iter().any(|n| line.starts_with(n)))
            .map(str::to_owned)
            .collect()
    };
    let gauges = show(&before, &["errand_queue_due_jobs"]);
    println!("before the drain:");
    for line in &gauges {
        println!("  {line}");
    }
    let counters = show(
        &after,
        &[
            "errand_jobs_completed_total",
            "errand_jobs_failed_total",
            "errand_attempt_duration_seconds_count",
        ],
    );
    println!("after it:");
    for line in &counters {
        println!("  {line}");
    }
    let expected = [
        r#"errand_queue_due_jobs{queue="mail"} 3"#,
        r#"errand_jobs_completed_total{kind="send_receipt",queue="mail",tenant="acme"} 3"#,
        r#"errand_jobs_failed_total{kind="sync_crm",queue="default",tenant=""} 1"#,
    ];
    for line in expected {
        if !gauges.iter().chain(&counters).any(|l| l == line) {
            return Err(format!("the scrape lacks `{line}`").into());
        }
    }
    Ok(())
}
