//! An email queue: a mail server that refuses some messages at first,
//! retries with a short fixed backoff, and never more than three sends at
//! once in this process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use errand::{Attempt, Backoff, Client, Finished, JobError, State, Worker};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Email {
    to: String,
    subject: String,
}

/// Stands in for an SMTP client: a greylisting server refuses the first try
/// of some addresses; it counts how many sends run at once.
#[derive(Default)]
struct Mailer {
    sending: AtomicUsize,
    most_at_once: AtomicUsize,
    sent: Mutex<HashMap<String, u32>>,
}

impl Mailer {
    async fn send(&self, email: &Email, attempt: u32) -> Result<(), std::io::Error> {
        let now = self.sending.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.sending.fetch_sub(1, Ordering::SeqCst);
        if email.to.starts_with("grey") && attempt == 1 {
            return Err(std::io::Error::other("421 greylisted, try again later"));
        }
        self.sent
            .lock()
            .map_err(|_| std::io::Error::other("mailer state poisoned"))?
            .insert(email.to.clone(), attempt);
        Ok(())
    }
}

// At most 3 sends at once in this process (`global_concurrency` would limit
// every process of the store); 5 attempts.
#[errand::job(queue = "mail", max_attempts = 5, concurrency = 3)]
async fn send_email(input: Email, mailer: State<Mailer>, attempt: Attempt) -> Result<(), JobError> {
    mailer.send(&input, attempt.0).await?; // an io::Error is a retryable failure
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://email_queue.db").await?;
    let client = Client::new(store.clone());
    let emails = (1..=12).map(|n| {
        send_email::enqueue(Email {
            // Every third address is greylisted on its first try.
            to: if n % 3 == 0 {
                format!("grey{n}@example.com")
            } else {
                format!("user{n}@example.com")
            },
            subject: "Your invoice".into(),
        })
    });
    let jobs = client.enqueue_many(emails).await?; // one round trip

    let mailer = std::sync::Arc::new(Mailer::default());
    let worker = Worker::builder(store)
        .register(send_email::job())
        .concurrency(10)
        .backoff(Backoff::Fixed(Duration::from_millis(100)))
        .state_arc(mailer.clone())
        .build()?;
    let running = worker.start();
    for job in &jobs {
        match job.wait_timeout(Duration::from_secs(30)).await? {
            Finished::Completed(()) => {}
            other => return Err(format!("job {} ended {other:?}", job.id()).into()),
        }
    }
    running.shutdown().await;

    let retried = jobs.len() / 3;
    let second_tries = mailer
        .sent
        .lock()
        .map_err(|_| "poisoned")?
        .values()
        .filter(|a| **a == 2)
        .count();
    let most = mailer.most_at_once.load(Ordering::SeqCst);
    println!(
        "sent {} emails, {second_tries} on a second attempt, at most {most} at once",
        jobs.len()
    );
    if second_tries != retried || most > 3 {
        return Err("the retries or the concurrency limit did not hold".into());
    }
    Ok(())
}
