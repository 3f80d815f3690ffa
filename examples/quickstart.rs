//! The README's example, run as a program (`cargo run -p errand-examples
//! --bin quickstart`); a test checks that the README shows this file.

use errand::{Client, JobError, Worker};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Email {
    to: String,
    subject: String,
}

#[errand::job(queue = "mail", max_attempts = 5, timeout = "30s")]
async fn send_email(input: Email) -> Result<(), JobError> {
    println!("sending {:?} to {}", input.subject, input.to); // an Err is retried with backoff
    Ok(())
}

#[tokio::main]
async fn main() -> errand::Result<()> {
    let store = errand::connect_from_env("sqlite://jobs.db").await?; // or ERRAND_DATABASE_URL
    let client = Client::new(store.clone());
    let email = Email {
        to: "ada@example.com".into(),
        subject: "Hi".into(),
    };
    let job = client.enqueue(send_email::enqueue(email)).await?;

    // The worker serves the queues of the kinds it registers: here "mail".
    let worker = Worker::builder(store).register(send_email::job()).build()?;
    let running = worker.start();
    job.wait().await?; // Finished::Completed(()) once sent
    running.shutdown().await; // running jobs finish or go back to the store
    Ok(())
}
