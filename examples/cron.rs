//! Recurring work with cron entries: a nightly cleanup at 03:00 Berlin time
//! and an hourly report defined in code, and a heartbeat entry created in
//! the store at run time (as `errand cron add` or the admin API would).
//! Every worker runs the scheduler; each fire time makes exactly one job.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use errand::cron::{Entry, Missed, Overlap};
use errand::{Client, CronRef, State, Worker};
use tokio::sync::Notify;

#[derive(Default)]
struct Beats {
    count: AtomicU32,
    beat: Notify,
}

#[errand::job(queue = "maintenance")]
async fn cleanup(input: u32) {
    println!("deleting sessions older than {input} days");
}

#[errand::job]
async fn report() {
    println!("hourly report sent");
}

#[errand::job]
async fn heartbeat(beats: State<Beats>) {
    beats.count.fetch_add(1, Ordering::SeqCst);
    beats.beat.notify_one();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in ["cron.db", "cron.db-wal", "cron.db-shm"] {
        let _ = std::fs::remove_file(file);
    }
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://cron.db").await?;
    let client = Client::new(store.clone());

    let nightly = Entry::of::<cleanup>("nightly-cleanup", "0 3 * * *", 30)?
        .zone("Europe/Berlin")?
        .overlap(Overlap::Skip);
    let hourly = Entry::of::<report>("hourly-report", "@hourly", ())?.missed(Missed::Coalesce);
    let beats = Arc::new(Beats::default());
    let worker = Worker::builder(store)
        .register(cleanup::job())
        .register(report::job())
        .register(heartbeat::job())
        .queues(["default", "maintenance"])
        .state_arc(Arc::clone(&beats))
        .cron(nightly)
        .cron(hourly)
        .build()?;
    let running = worker.start();

    // An entry created in the store, for a kind the worker registers; from
    // a terminal: errand cron add heartbeat --kind heartbeat --schedule "@every 1s"
    let created = client
        .cron()
        .create(Entry::new(
            "heartbeat",
            "heartbeat",
            serde_json::Value::Null,
            "@every 1s",
        )?)
        .await?;
    println!(
        "created {} ({}), next fire {:?}",
        created.name, created.schedule, created.next_fire_at
    );

    // Two beats, each from its own fire time.
    tokio::time::timeout(Duration::from_secs(10), async {
        while beats.count.load(Ordering::SeqCst) < 2 {
            beats.beat.notified().await;
        }
    })
    .await
    .map_err(|_| "the heartbeat entry did not fire twice within 10 s")?;
    client
        .cron()
        .disable("heartbeat", Some("example done"))
        .await?;

    // The code's entries were written when the worker started.
    for (utc, berlin) in client
        .cron()
        .next_fires("nightly-cleanup", 3, Utc::now())
        .await?
    {
        println!(
            "nightly cleanup at {utc} (Berlin {})",
            berlin.format("%Y-%m-%d %H:%M %Z")
        );
    }
    // Run the nightly cleanup now, whatever its schedule.
    let id = client.cron().trigger("nightly-cleanup").await?;
    let job = client.deferred::<()>(id);
    job.wait().await?;
    let row = client.get(id).await?.ok_or("the triggered job is gone")?;
    let Some(CronRef { name, .. }) = row.cron else {
        return Err("the triggered job does not name its entry".into());
    };
    for record in client.cron().ledger("nightly-cleanup", 10).await? {
        println!(
            "{name}: {} at {} -> job {:?}",
            record.reason, record.fire_at, record.job_id
        );
    }
    let heartbeat = client
        .cron()
        .get("heartbeat")
        .await?
        .ok_or("heartbeat is gone")?;
    running.shutdown().await;
    if heartbeat.enabled || heartbeat.note.as_deref() != Some("example done") {
        return Err("the heartbeat entry was not disabled with its note".into());
    }
    Ok(())
}
