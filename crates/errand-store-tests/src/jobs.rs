//! Job kinds the runtime cases and the probe worker run.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use errand::{Attempt, CancellationToken, JobError, JobId, State};
use serde::{Deserialize, Serialize};

/// Counts calls per job id, for jobs that must behave differently on later calls.
#[derive(Debug, Default)]
pub struct Calls(Mutex<BTreeMap<i64, u32>>);

impl Calls {
    /// Records a call of `id` and returns how many calls it has had, this one included.
    pub fn record(&self, id: JobId) -> u32 {
        let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = calls.entry(id.0).or_default();
        *n += 1;
        *n
    }
}

/// How many jobs run at this moment, and the most ever seen.
#[derive(Debug, Default)]
pub struct Gauge {
    now: AtomicU32,
    /// The most that ran at once.
    pub peak: AtomicU32,
}

impl Gauge {
    /// Marks one more running job.
    pub fn enter(&self) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
    }
    /// Marks one fewer.
    pub fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A [`Gauge`] per tenant, for jobs whose tenants have limits.
#[derive(Debug, Default)]
pub struct TenantGauges(
    Mutex<BTreeMap<String, (u32, u32)>>,
    /// The tenants of the jobs in the order they started.
    Mutex<Vec<String>>,
);

impl TenantGauges {
    fn enter(&self, tenant: &str) {
        self.1
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tenant.to_owned());
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (now, peak) = map.entry(tenant.to_owned()).or_default();
        *now += 1;
        *peak = (*peak).max(*now);
    }

    fn leave(&self, tenant: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((now, _)) = map.get_mut(tenant) {
            *now -= 1;
        }
    }

    /// The tenants of the jobs in the order they started (`-` for none).
    pub fn order(&self) -> Vec<String> {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The most jobs of each tenant that ran at once.
    pub fn peaks(&self) -> BTreeMap<String, u32> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(t, (_, peak))| (t.clone(), *peak))
            .collect()
    }
}

/// Sleeps for `input` milliseconds, counting per tenant (`-` for none) how
/// many run at once.
#[errand::job]
pub async fn tenant_sleepy(
    input: u64,
    job: errand::JobContext,
    gauges: State<TenantGauges>,
) -> Result<(), JobError> {
    let tenant = job.tenant().unwrap_or("-").to_owned();
    gauges.enter(&tenant);
    tokio::time::sleep(Duration::from_millis(input)).await;
    gauges.leave(&tenant);
    Ok(())
}

/// An email, the input of [`typed_input()`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Email {
    /// Recipient.
    pub to: String,
}

/// Does nothing.
#[errand::job]
pub async fn noop() -> Result<(), JobError> {
    Ok(())
}

/// Fails every attempt with a message naming the attempt.
#[errand::job(max_attempts = 3)]
pub async fn always_fails(input: String, attempt: Attempt) -> Result<(), JobError> {
    Err(JobError::retry(format!(
        "{input} failed on attempt {}",
        attempt.0
    )))
}

/// Fails with an error retrying cannot fix.
#[errand::job]
pub async fn fatal() -> Result<(), JobError> {
    Err(JobError::fatal("account closed"))
}

/// Snoozes on its first call, completes on the second.
#[errand::job]
pub async fn snooze_once(id: JobId, calls: State<Calls>) -> Result<u32, JobError> {
    let n = calls.record(id);
    if n == 1 {
        return Err(JobError::snooze(Duration::ZERO));
    }
    Ok(n)
}

/// Needs a well-formed [`Email`].
#[errand::job]
pub async fn typed_input(input: Email) -> Result<String, JobError> {
    Ok(input.to)
}

/// Fails its first attempt, then doubles its input.
#[errand::job(max_attempts = 5)]
pub async fn flaky(input: u32, attempt: Attempt) -> Result<u32, JobError> {
    if attempt.0 < 2 {
        return Err(JobError::retry("first attempt always fails"));
    }
    Ok(input * 2)
}

/// Panics.
#[errand::job(max_attempts = 2)]
pub async fn panics() -> Result<(), JobError> {
    panic!("the job broke")
}

/// Runs longer than its timeout.
#[errand::job(timeout = "100ms", max_attempts = 2)]
pub async fn too_slow() -> Result<(), JobError> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

/// Runs until cancelled, reporting in `Gauge` that it started.
#[errand::job]
pub async fn until_cancelled(
    token: CancellationToken,
    gauge: State<Gauge>,
) -> Result<(), JobError> {
    gauge.enter();
    token.cancelled().await;
    gauge.leave();
    Err(JobError::retry("stopped by its token"))
}

/// Sleeps for `input` milliseconds, counting how many run at once.
#[errand::job]
pub async fn sleepy(input: u64, gauge: State<Gauge>) -> Result<u64, JobError> {
    gauge.enter();
    tokio::time::sleep(Duration::from_millis(input)).await;
    gauge.leave();
    Ok(input)
}

/// The input of a `tx_effect` job: it writes one effect row for `key` through
/// the backend's transaction extractor.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Effect {
    /// What the effect row records; unique per case.
    pub key: String,
    /// Attempts up to this one fail after writing (their writes must roll back).
    #[serde(default)]
    pub fail_through: u32,
    /// Wait for [`EffectGates::go`] before writing (after signalling `started`).
    #[serde(default)]
    pub gated: bool,
}

/// What `tx_effect` jobs share with the case that runs them.
#[derive(Debug)]
pub struct EffectGates {
    /// The effects table, qualified as the backend needs.
    pub table: String,
    /// Signalled by a gated job once it runs.
    pub started: tokio::sync::Notify,
    /// Lets gated jobs go on.
    pub go: tokio::sync::Notify,
    /// Set in a probe worker: after writing, record "key attempt" here and
    /// hang until killed, so the transaction never commits.
    pub hang_log: Option<Mutex<std::fs::File>>,
}

impl EffectGates {
    /// Gates for the effects table `table`.
    pub fn new(table: impl Into<String>) -> Self {
        EffectGates {
            table: table.into(),
            started: tokio::sync::Notify::new(),
            go: tokio::sync::Notify::new(),
            hang_log: None,
        }
    }

    /// What a job does before writing.
    pub async fn before_write(&self, effect: &Effect) {
        if effect.gated {
            self.started.notify_one();
            self.go.notified().await;
        }
    }

    /// What a job does after writing: fail, hang, or go on to complete.
    pub async fn after_write(&self, effect: &Effect, attempt: u32) -> Result<(), JobError> {
        if let Some(log) = &self.hang_log {
            {
                let mut file = log.lock().unwrap_or_else(|p| p.into_inner());
                use std::io::Write;
                writeln!(file, "{} {}", effect.key, attempt)?;
                file.sync_all()?;
            }
            std::future::pending::<()>().await;
        }
        if attempt <= effect.fail_through {
            return Err(JobError::retry_after(
                Duration::ZERO,
                format!("failing attempt {attempt} after the write"),
            ));
        }
        Ok(())
    }
}

/// A gate that `gated` jobs wait at until a case opens it.
#[derive(Debug)]
pub struct Gate(tokio::sync::watch::Sender<bool>);

impl Default for Gate {
    fn default() -> Self {
        Gate(tokio::sync::watch::Sender::new(false))
    }
}

impl Gate {
    /// Lets every waiting and later `gated` job through.
    pub fn open(&self) {
        self.0.send_replace(true);
    }
}

/// Marks itself running in the gauge, waits for the gate, then completes.
#[errand::job]
pub async fn gated(gate: State<Gate>, gauge: State<Gauge>) -> Result<(), JobError> {
    gauge.enter();
    let mut open = gate.0.0.subscribe();
    let waited = open.wait_for(|open| *open).await.map(|_| ());
    gauge.leave();
    waited.map_err(|_| JobError::retry("the gate is gone"))
}

/// What batch continuations saw, for the runtime case.
#[derive(Debug, Default)]
pub struct Reports(pub Mutex<Vec<(errand::BatchCounts, Vec<JobId>)>>);

/// A job of a batch: input 0 appends two more parts (1 and 2) to its own
/// batch; input 2 fails for good; the others complete.
#[errand::job]
pub async fn batch_part(input: u32, batch: errand::InBatch) -> Result<u32, JobError> {
    match input {
        0 => {
            batch
                .append([batch_part::enqueue(1), batch_part::enqueue(2)])
                .await
                .map_err(JobError::retry)?;
            Ok(0)
        }
        2 => Err(JobError::fatal("part 2 is broken")),
        n => Ok(n),
    }
}

/// A continuation: records the batch's counts and failed jobs.
#[errand::job]
pub async fn batch_report(
    batch: errand::Continued,
    reports: State<Reports>,
) -> Result<(), JobError> {
    let status = batch.status().await.map_err(JobError::retry)?;
    let failed = batch.failed_jobs(10).await.map_err(JobError::retry)?;
    reports
        .0
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((status.counts, failed));
    Ok(())
}
