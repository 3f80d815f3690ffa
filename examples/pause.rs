//! Pause a queue while its provider is down: the mail queue is paused (who,
//! when and why are stored), emails enqueued meanwhile wait, other queues
//! go on, a restarted worker keeps the pause, and a resume lets the emails
//! run. The same works for all processing and for one tenant's jobs, and
//! from the command line: `errand queues pause mail --note "..."`.

use std::time::Duration;

use errand::{Client, JobError, JobState, PauseScope, Worker};

#[errand::job(queue = "mail")]
async fn send_email(input: String) -> Result<(), JobError> {
    println!("sent mail to {input}");
    Ok(())
}

#[errand::job]
async fn build_report(input: String) -> Result<(), JobError> {
    println!("built report {input}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in [
        "pause.db",
        "pause.db-wal",
        "pause.db-shm",
        "pause.db-errand-wake",
    ] {
        let _ = std::fs::remove_file(file);
    }
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://pause.db").await?;
    let client = Client::new(store.clone());
    let worker = || {
        Worker::builder(store.clone())
            .register(send_email::job())
            .register(build_report::job())
            .queues(["mail", "default"])
            .build()
    };

    let paused = client
        .pause(PauseScope::queue("mail"), "ops", Some("mail provider down"))
        .await?;
    println!(
        "paused {} by {} ({})",
        paused.pause.scope,
        paused.pause.by,
        paused.pause.note.as_deref().unwrap_or("")
    );
    let handle = worker()?.start();
    let email = client
        .enqueue(send_email::enqueue("ada@example.com".to_owned()))
        .await?;
    let report = client
        .enqueue(build_report::enqueue("daily".to_owned()))
        .await?;
    // Other queues go on; the report was enqueued after the email, so the
    // worker has had its chance at the email by the time the report is done.
    tokio::time::timeout(Duration::from_secs(30), report.wait()).await??;
    let while_paused = email.state().await?;
    println!("report done; email while paused: {while_paused}");

    // A deploy restarts the worker: the pause is in the store and stays.
    handle.shutdown().await;
    let handle = worker()?.start();
    let still = client.pauses().await?;
    println!("after the restart, paused: {}", still.len());

    let lifted = client.resume(PauseScope::queue("mail")).await?;
    tokio::time::timeout(Duration::from_secs(30), email.wait()).await??;
    println!("resumed; email: {}", email.state().await?);
    handle.shutdown().await;

    if while_paused != JobState::Available
        || still.len() != 1
        || lifted.is_none()
        || email.state().await? != JobState::Completed
    {
        return Err("the paused queue did not hold its email until the resume".into());
    }
    Ok(())
}
