//! A real worker process for the crash and multi-process tests: it runs
//! `probe` jobs (sleep for the input's milliseconds on the first attempt and
//! 1 ms on later ones, then append the job id to a log file) until it is
//! killed or receives SIGTERM. `ERRAND_PROBE_QUEUES=a,b` sets its ordered
//! queues (default: the default queue).
//!
//! `probe_limited` jobs do the same under a global limit of 5 and also log
//! when they started and ended. It also runs `tx_effect` jobs (a write through the backend's transaction
//! extractor); with `ERRAND_PROBE_EFFECTS=hang` they record "key attempt" in
//! the log after writing and hang until killed, before their commit.
//!
//! `probe_until_cancelled` jobs wait for their cancellation token and log
//! "cancelled id ns" when it fires.
//!
//! With `ERRAND_PROBE_TIMES=1`, `probe` logs "id attempt start end" (ns).
//!
//! Usage: `errand-probe-worker DATABASE_URL LOG_FILE CONCURRENCY LEASE_MS [NAMESPACE]`

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use errand::{Attempt, JobError, JobId, State, Worker};
use errand_store_tests::jobs::EffectGates;

struct Log(Mutex<std::fs::File>);

/// Sleeps, then records "id attempt" in the log. Only the first attempt
/// sleeps the input's milliseconds, so a long job a test kills mid-run is
/// quick once rescued.
#[errand::job(max_attempts = 10)]
async fn probe(input: u64, id: JobId, attempt: Attempt, log: State<Log>) -> Result<(), JobError> {
    let start = now_ns();
    let ms = if attempt.0 == 1 { input } else { 1 };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let Log(file) = &*log;
    let mut file = file
        .lock()
        .map_err(|_| JobError::retry("log lock poisoned"))?;
    if TIMES.get().copied().unwrap_or(false) {
        writeln!(file, "{} {} {start} {}", id.0, attempt.0, now_ns())?;
    } else {
        writeln!(file, "{} {}", id.0, attempt.0)?;
    }
    Ok(())
}

/// `ERRAND_PROBE_TIMES=1`: `probe` also logs when it started and ended.
static TIMES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Nanoseconds of the wall clock, which every process on the machine shares.
fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Like `probe`, under a global limit of 5: records "id attempt start end"
/// (wall-clock ns) so a test can compute how many ran at once across processes.
#[errand::job(max_attempts = 10)]
async fn probe_limited(
    input: u64,
    id: JobId,
    attempt: Attempt,
    log: State<Log>,
) -> Result<(), JobError> {
    let start = now_ns();
    tokio::time::sleep(Duration::from_millis(input)).await;
    let end = now_ns();
    let Log(file) = &*log;
    let mut file = file
        .lock()
        .map_err(|_| JobError::retry("log lock poisoned"))?;
    writeln!(file, "{} {} {start} {end}", id.0, attempt.0)?;
    Ok(())
}

/// Waits for its cancellation token (at most the input's milliseconds),
/// then records "cancelled id ns" (wall-clock ns when the token fired).
#[errand::job]
async fn probe_until_cancelled(
    input: u64,
    id: JobId,
    token: errand::CancellationToken,
    log: State<Log>,
) -> Result<(), JobError> {
    tokio::select! {
        _ = token.cancelled() => {}
        _ = tokio::time::sleep(Duration::from_millis(input)) => return Ok(()),
    }
    let at = now_ns();
    let Log(file) = &*log;
    let mut file = file
        .lock()
        .map_err(|_| JobError::retry("log lock poisoned"))?;
    writeln!(file, "cancelled {} {at}", id.0)?;
    Err(JobError::retry("stopped by its token"))
}

/// The global limit of `probe_limited` jobs.
const PROBE_LIMIT: u32 = 5;

fn arg(args: &[String], i: usize, what: &str) -> Result<String, String> {
    args.get(i)
        .cloned()
        .ok_or_else(|| format!("missing argument {i}: {what}"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let _ = TIMES.set(std::env::var("ERRAND_PROBE_TIMES").as_deref() == Ok("1"));
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
    let hang_log = match std::env::var("ERRAND_PROBE_EFFECTS").as_deref() {
        Ok("hang") => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&log_path)
                .map_err(|e| format!("{log_path}: {e}"))?,
        )),
        _ => None,
    };
    let builder = errand_store_tests::backends::with_effect_job(
        &url,
        namespace.as_deref(),
        |table| EffectGates {
            hang_log,
            ..EffectGates::new(table)
        },
        Worker::builder(store),
    );
    let queues: Vec<String> = match std::env::var("ERRAND_PROBE_QUEUES") {
        Ok(list) => list.split(',').map(str::to_owned).collect(),
        Err(_) => vec![errand::NewJob::DEFAULT_QUEUE.to_owned()],
    };
    let worker = builder
        .queues(queues)
        .allow_unserved_kinds()
        .register(probe::job())
        .register(probe_limited::job())
        .register(probe_until_cancelled::job())
        .global_limit(probe_limited::KIND, PROBE_LIMIT)
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
