//! Bill a customer at a given time, exactly once: the invoice job is
//! scheduled for a moment (`run_at`), a unique key makes a second enqueue of
//! the same invoice return the first job, and nothing runs before its time.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use errand::{Client, JobError, JobState, Unique, Worker};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Invoice {
    customer: u64,
    month: String,
    cents: u64,
}

#[errand::job(queue = "billing", max_attempts = 10)]
async fn bill_customer(input: Invoice) -> Result<String, JobError> {
    println!(
        "charging customer {} {} cents for {}",
        input.customer, input.cents, input.month
    );
    Ok(format!("inv-{}-{}", input.customer, input.month))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fresh database on every run, so that the run shows the whole story.
    for file in ["invoice_at.db", "invoice_at.db-wal", "invoice_at.db-shm"] {
        let _ = std::fs::remove_file(file);
    }
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://invoice_at.db").await?;
    let client = Client::new(store.clone());
    let due = Utc::now() + TimeDelta::milliseconds(1500);
    let invoice = || {
        bill_customer::enqueue(Invoice {
            customer: 42,
            month: "2026-12".into(),
            cents: 1999,
        })
        .run_at(due)
        // Held as long as the job exists: a second enqueue returns this job.
        .unique(Unique::forever("invoice-42-2026-12"))
    };
    let first = client.enqueue(invoice()).await?;
    let again = client.enqueue(invoice()).await?;
    println!(
        "invoice job {} (second enqueue: job {}, duplicate: {})",
        first.id(),
        again.id(),
        again.is_duplicate()
    );

    let worker = Worker::builder(store)
        .register(bill_customer::job())
        .build()?;
    let early = worker.drain().await?;
    let state_before = first.state().await?;
    // Wait until it is due, then process it (a running worker would pick it
    // up by itself at its time).
    let wait = (due - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    let on_time = worker.drain().await?;
    let number = first.output().await?;
    println!("before its time: {state_before}; then: {number:?}");
    if !again.is_duplicate()
        || again.id() != first.id()
        || early.total() != 0
        || state_before != JobState::Scheduled
        || on_time.completed != 1
        || number.as_deref() != Some("inv-42-2026-12")
    {
        return Err("the invoice did not run once, at its time".into());
    }
    Ok(())
}
