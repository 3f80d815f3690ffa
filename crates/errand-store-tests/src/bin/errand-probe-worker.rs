//! A real worker process for the crash and multi-process tests: it runs
//! `probe` jobs (sleep for the input's milliseconds, then append the job id to
//! a log file) until it is killed or receives SIGTERM.
//!
//! Usage: errand-probe-worker DATABASE_URL LOG_FILE CONCURRENCY LEASE_MS [NAMESPACE]

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use errand::{Attempt, JobError, JobId, State, Worker};

struct Log(Mutex<std::fs::File>);

/// Sleeps, then records "id attempt" in the log.
#[errand::job(max_attempts = 10)]
async fn probe(input: u64, id: JobId, attempt: Attempt, log: State<Log>) -> Result<(), JobError> {
    tokio::time::sleep(Duration::from_millis(input)).await;
    let Log(file) = &*log;
    let mut file = file
        .lock()
        .map_err(|_| JobError::retry("log lock poisoned"))?;
    writeln!(file, "{} {}", id.0, attempt.0)?;
    Ok(())
}

fn arg(args: &[String], i: usize, what: &str) -> Result<String, String> {
    args.get(i)
        .cloned()
        .ok_or_else(|| format!("missing argument {i}: {what}"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, 1, "DATABASE_URL")?;
    let log_path = arg(&args, 2, "LOG_FILE")?;
    let concurrency: usize = arg(&args, 3, "CONCURRENCY")?
        .parse()
        .map_err(|e| format!("CONCURRENCY: {e}"))?;
    let lease_ms: u64 = arg(&args, 4, "LEASE_MS")?
        .parse()
        .map_err(|e| format!("LEASE_MS: {e}"))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("{log_path}: {e}"))?;
    let namespace = args.get(5).cloned();
    let store = errand_store_tests::backends::open(&url, namespace.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    let worker = Worker::builder(store)
        .register(probe::job())
        .concurrency(concurrency)
        .lease(Duration::from_millis(lease_ms))
        .poll_interval(Duration::from_millis(50))
        .state(Log(Mutex::new(log)))
        .build()
        .map_err(|e| e.to_string())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    println!("ready {}", worker.name());
    worker
        .run_until(async move {
            term.recv().await;
        })
        .await;
    Ok(())
}
