//! errand's metrics as a Prometheus scrape shows them: one test, as the
//! recorder is the process's.
#![cfg(all(feature = "prometheus", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use errand::{Backoff, Client, JobError, SqliteStore, Worker};

#[errand::job(queue = "mail")]
async fn send_welcome() -> Result<(), JobError> {
    Ok(())
}

#[errand::job(max_attempts = 2)]
async fn charge() -> Result<(), JobError> {
    Err(JobError::retry("card declined"))
}

/// The value of the sample `name{labels}` in `text`, if there is one.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.parse().unwrap())
}

#[tokio::test]
async fn jobs_store_calls_and_tenants_are_counted() {
    let prometheus = errand::observe::install_prometheus().unwrap();
    errand::observe::metrics::set_tenant_label_limit(1);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("jobs.db")).await.unwrap();
    let client = Client::new(store.clone());
    client.enqueue(send_welcome::enqueue()).await.unwrap();
    client.enqueue(send_welcome::enqueue()).await.unwrap();
    client
        .enqueue(charge::enqueue().tenant("acme"))
        .await
        .unwrap();
    // A second tenant is over the limit of one label: it is `other`.
    client
        .enqueue(charge::enqueue().tenant("globex"))
        .await
        .unwrap();
    let worker = Worker::builder(store)
        .cron(errand::cron::Entry::of::<send_welcome>("welcome-tick", "@every 1s", ()).unwrap())
        .register(send_welcome::job())
        .register(charge::job())
        .queues(["mail", "default"])
        .backoff(Backoff::Fixed(Duration::ZERO))
        .build()
        .unwrap();
    // The queue gauges, sampled by the worker's maintenance.
    worker.maintain(chrono::Utc::now()).await;
    let text = prometheus.render();
    assert_eq!(
        sample(&text, "errand_queue_due_jobs", r#"queue="mail""#),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "errand_queue_due_jobs", r#"queue="default""#),
        Some(2.0)
    );
    let age = sample(&text, "errand_queue_oldest_due_seconds", r#"queue="mail""#);
    assert!(age.is_some_and(|s| s >= 0.0), "{age:?}");

    // The entry fires once its first second has passed; the lag is the
    // time from that fire to the scheduler's decision.
    let later = chrono::Utc::now() + chrono::TimeDelta::seconds(2);
    worker.maintain(later).await;
    let text = prometheus.render();
    let lag = sample(
        &text,
        "errand_cron_fire_lag_seconds_count",
        r#"entry="welcome-tick",tenant="""#,
    );
    assert!(lag.is_some_and(|n| n >= 1.0), "fires recorded: {lag:?}");
    // One job per second passed (one or two: the clock may cross a second
    // boundary between the two times).
    let ticks = lag.unwrap();

    let summary = worker.drain_at(later).await.unwrap();
    assert_eq!(
        (summary.completed as f64, summary.retried, summary.failed),
        (2.0 + ticks, 2, 2),
        "the welcomes, the cron entry's jobs and the charges"
    );

    let text = prometheus.render();
    let mail = r#"kind="send_welcome",queue="mail",tenant="""#;
    let acme = r#"kind="charge",queue="default",tenant="acme""#;
    let other = r#"kind="charge",queue="default",tenant="other""#;
    let mails = 2.0 + ticks;
    for (name, labels, want) in [
        ("errand_jobs_enqueued_total", mail, mails),
        ("errand_jobs_started_total", mail, mails),
        ("errand_jobs_completed_total", mail, mails),
        ("errand_jobs_enqueued_total", acme, 1.0),
        ("errand_jobs_started_total", acme, 2.0),
        ("errand_jobs_retried_total", acme, 1.0),
        ("errand_jobs_failed_total", acme, 1.0),
        ("errand_jobs_enqueued_total", other, 1.0),
        ("errand_jobs_failed_total", other, 1.0),
        ("errand_attempt_duration_seconds_count", mail, mails),
        ("errand_job_wait_seconds_count", acme, 2.0),
    ] {
        assert_eq!(
            sample(&text, name, labels),
            Some(want),
            "{name}{{{labels}}} in:\n{text}"
        );
    }
    assert_eq!(
        sample(&text, "errand_jobs_completed_total", acme),
        Some(0.0),
        "nothing of acme completed"
    );
    assert!(
        !text.contains(r#"tenant="globex""#),
        "a tenant over the limit has no label of its own"
    );
    for op in ["enqueue", "claim", "finalize"] {
        let calls = sample(
            &text,
            "errand_store_call_seconds_count",
            &format!(r#"op="{op}""#),
        );
        assert!(calls.is_some_and(|n| n >= 1.0), "{op}: {calls:?}");
    }
    // Emptied queues read zero after the drain's closing maintenance.
    assert_eq!(
        sample(&text, "errand_queue_due_jobs", r#"queue="mail""#),
        Some(0.0)
    );
    assert!(text.contains("# HELP errand_jobs_completed_total"));
    assert!(text.contains("# TYPE errand_attempt_duration_seconds histogram"));
}
