//! Metrics through the [`metrics`] facade: errand records them, the recorder
//! the application installs (Prometheus through [`install_prometheus`],
//! or any other) exports them. Without a recorder, recording costs next to
//! nothing.
//!
//! Every job metric carries the labels `kind`, `queue` and `tenant` (empty
//! for jobs without one). Tenants beyond [`set_tenant_label_limit`]
//! distinct values (100 by default) share the label `other`, so that a
//! system of many tenants cannot grow the series without bound.
//!
//! Handles are registered with the recorder on first use and kept: install
//! the recorder before the first client or worker records anything.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use errand_core::store::{EntryKey, Outcome};
use metrics::{Counter, Histogram};

/// Jobs enqueued (duplicates of a unique key excluded).
pub const JOBS_ENQUEUED: &str = "errand_jobs_enqueued_total";
/// Attempts started.
pub const JOBS_STARTED: &str = "errand_jobs_started_total";
/// Attempts that completed their job.
pub const JOBS_COMPLETED: &str = "errand_jobs_completed_total";
/// Attempts that failed with a retry to come.
pub const JOBS_RETRIED: &str = "errand_jobs_retried_total";
/// Jobs failed for good (the dead-letter set).
pub const JOBS_FAILED: &str = "errand_jobs_failed_total";
/// Attempts that ended cancelled.
pub const JOBS_CANCELLED: &str = "errand_jobs_cancelled_total";
/// Attempts that snoozed.
pub const JOBS_SNOOZED: &str = "errand_jobs_snoozed_total";
/// How long attempts ran, in seconds.
pub const ATTEMPT_DURATION: &str = "errand_attempt_duration_seconds";
/// From when a job was due (its enqueue, its run_at or its retry time) to
/// the start of its attempt, in seconds.
pub const JOB_WAIT: &str = "errand_job_wait_seconds";
/// From a cron entry's fire time to the enqueue of its job, in seconds
/// (labels `entry` and `tenant`).
pub const CRON_FIRE_LAG: &str = "errand_cron_fire_lag_seconds";
/// Jobs due and waiting in a queue (label `queue`), sampled.
pub const QUEUE_DUE: &str = "errand_queue_due_jobs";
/// How long the oldest due job of a queue has waited, in seconds (label
/// `queue`), sampled.
pub const QUEUE_OLDEST_AGE: &str = "errand_queue_oldest_due_seconds";
/// Jobs in the store per queue and public state (labels `queue`, `state`),
/// read from the store's counts when the admin API's `/metrics` is scraped.
pub const STORE_JOBS: &str = "errand_store_jobs";
/// Worker processes with a live heartbeat, read when the admin API's
/// `/metrics` is scraped.
pub const WORKERS_ALIVE: &str = "errand_workers_alive";
/// How long store calls took, in seconds (label `op`).
pub const STORE_CALL: &str = "errand_store_call_seconds";
/// Store calls that returned an error (label `op`).
pub const STORE_ERRORS: &str = "errand_store_errors_total";

/// The label value of jobs without a tenant.
const NO_TENANT: &str = "";
/// The label value of tenants beyond the limit.
const OTHER_TENANTS: &str = "other";

static TENANT_LABEL_LIMIT: AtomicUsize = AtomicUsize::new(100);
static SAMPLE_QUEUES: AtomicBool = AtomicBool::new(false);

/// Turns the sampling of the queue gauges on or off: every worker started
/// afterwards reads the due jobs per queue from its store every
/// [`QUEUE_SAMPLE_INTERVAL`] (one indexed query). [`install_prometheus`]
/// turns it on; with another recorder, call this with `true`.
pub fn sample_queues(on: bool) {
    SAMPLE_QUEUES.store(on, Ordering::Relaxed);
}

/// Whether workers sample the queue gauges.
pub(crate) fn sampling_queues() -> bool {
    SAMPLE_QUEUES.load(Ordering::Relaxed)
}

/// How often a worker samples the queue gauges.
pub const QUEUE_SAMPLE_INTERVAL: Duration = Duration::from_secs(10);

/// Sets how many distinct tenants get a label of their own (default 100);
/// the jobs of later tenants are labelled `other`.
pub fn set_tenant_label_limit(limit: usize) {
    TENANT_LABEL_LIMIT.store(limit, Ordering::Relaxed);
}

/// The handles of one (kind, queue, tenant) series.
pub(crate) struct JobSeries {
    pub enqueued: Counter,
    pub started: Counter,
    pub completed: Counter,
    pub retried: Counter,
    pub failed: Counter,
    pub cancelled: Counter,
    pub snoozed: Counter,
    pub attempt: Histogram,
    pub wait: Histogram,
}

impl JobSeries {
    fn new(kind: &str, queue: &str, tenant: &str) -> Self {
        let labels = [
            ("kind", kind.to_owned()),
            ("queue", queue.to_owned()),
            ("tenant", tenant.to_owned()),
        ];
        JobSeries {
            enqueued: metrics::counter!(JOBS_ENQUEUED, &labels),
            started: metrics::counter!(JOBS_STARTED, &labels),
            completed: metrics::counter!(JOBS_COMPLETED, &labels),
            retried: metrics::counter!(JOBS_RETRIED, &labels),
            failed: metrics::counter!(JOBS_FAILED, &labels),
            cancelled: metrics::counter!(JOBS_CANCELLED, &labels),
            snoozed: metrics::counter!(JOBS_SNOOZED, &labels),
            attempt: metrics::histogram!(ATTEMPT_DURATION, &labels),
            wait: metrics::histogram!(JOB_WAIT, &labels),
        }
    }

    /// Counts an attempt that completed its job after running `took` (one
    /// that committed through its own transaction has no [`Outcome`]).
    pub(crate) fn completed(&self, took: Duration) {
        self.ended_as(&self.completed, took);
    }

    /// Counts an attempt that ended with `outcome` after running `took`.
    pub(crate) fn ended(&self, outcome: &Outcome, took: Duration) {
        let counter = match outcome {
            Outcome::Complete { .. } => &self.completed,
            Outcome::Retry { .. } => &self.retried,
            Outcome::Fail { .. } => &self.failed,
            Outcome::Cancel { .. } => &self.cancelled,
            Outcome::Snooze { .. } => &self.snoozed,
            // Given back unrun (shutdown): no attempt was made.
            Outcome::Release => return,
        };
        self.ended_as(counter, took);
    }

    fn ended_as(&self, counter: &Counter, took: Duration) {
        self.attempt.record(took.as_secs_f64());
        counter.increment(1);
    }

    /// Counts an attempt started at `now` of a job due at `due`.
    pub(crate) fn started(&self, due: DateTime<Utc>, now: DateTime<Utc>) {
        self.started.increment(1);
        let waited = (now - due).to_std().unwrap_or(Duration::ZERO);
        self.wait.record(waited.as_secs_f64());
    }
}

/// Series by kind, then queue, then tenant label: looked up with borrowed
/// names, so a hit allocates nothing.
type SeriesMap = HashMap<String, HashMap<String, HashMap<String, Arc<JobSeries>>>>;

#[derive(Default)]
struct Registry {
    series: SeriesMap,
    tenants: HashSet<String>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

fn registry() -> MutexGuard<'static, Registry> {
    // Every update is a whole insert: a poisoned map is sound.
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The series of jobs of `kind` in `queue` for `tenant`.
pub(crate) fn series(kind: &str, queue: &str, tenant: Option<&str>) -> Arc<JobSeries> {
    let mut registry = registry();
    let registry = &mut *registry;
    let tenant = match tenant {
        None => NO_TENANT,
        Some(t) if registry.tenants.contains(t) => t,
        Some(t) if registry.tenants.len() < TENANT_LABEL_LIMIT.load(Ordering::Relaxed) => {
            registry.tenants.insert(t.to_owned());
            t
        }
        Some(_) => OTHER_TENANTS,
    };
    if let Some(found) = registry
        .series
        .get(kind)
        .and_then(|queues| queues.get(queue))
        .and_then(|tenants| tenants.get(tenant))
    {
        return Arc::clone(found);
    }
    let made = Arc::new(JobSeries::new(kind, queue, tenant));
    registry
        .series
        .entry(kind.to_owned())
        .or_default()
        .entry(queue.to_owned())
        .or_default()
        .insert(tenant.to_owned(), Arc::clone(&made));
    made
}

/// Records one store call.
pub(crate) fn store_call(op: &'static str, took: Duration, ok: bool) {
    metrics::histogram!(STORE_CALL, "op" => op).record(took.as_secs_f64());
    if !ok {
        metrics::counter!(STORE_ERRORS, "op" => op).increment(1);
    }
}

/// Records how late a cron entry's job was enqueued after its fire time.
pub(crate) fn cron_fired(entry: &EntryKey, fire_at: DateTime<Utc>, decided_at: DateTime<Utc>) {
    let lag = (decided_at - fire_at).to_std().unwrap_or(Duration::ZERO);
    let labels = [
        ("entry", entry.name.clone()),
        ("tenant", entry.tenant.clone().unwrap_or_default()),
    ];
    metrics::histogram!(CRON_FIRE_LAG, &labels).record(lag.as_secs_f64());
}

/// Sets the gauges of `queue`: `due` jobs, the oldest due since `oldest`
/// (workers sample their own queues; the admin API every queue, when
/// scraped).
pub fn queue_sampled(queue: &str, due: u64, oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) {
    let age = oldest
        .and_then(|at| (now - at).to_std().ok())
        .unwrap_or(Duration::ZERO);
    let queue = queue.to_owned();
    metrics::gauge!(QUEUE_DUE, "queue" => queue.clone()).set(due as f64);
    metrics::gauge!(QUEUE_OLDEST_AGE, "queue" => queue).set(age.as_secs_f64());
}

/// Sets the store-wide gauge of `queue`'s jobs in `state` to `count` (the
/// admin API sets every state of every queue, zeros included, so that a
/// state a queue's jobs left reads 0).
pub fn store_jobs_sampled(queue: &str, state: crate::JobState, count: u64) {
    metrics::gauge!(STORE_JOBS, "queue" => queue.to_owned(), "state" => state.as_str())
        .set(count as f64);
}

/// Sets the gauge of worker processes with a live heartbeat.
pub fn workers_alive_sampled(alive: u64) {
    metrics::gauge!(WORKERS_ALIVE).set(alive as f64);
}

/// Describes every metric to the installed recorder (the HELP lines of a
/// Prometheus scrape).
pub fn describe() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!(
        JOBS_ENQUEUED,
        "Jobs enqueued (duplicates of a unique key excluded)."
    );
    describe_counter!(JOBS_STARTED, "Attempts started.");
    describe_counter!(JOBS_COMPLETED, "Attempts that completed their job.");
    describe_counter!(JOBS_RETRIED, "Attempts that failed with a retry to come.");
    describe_counter!(JOBS_FAILED, "Jobs failed for good.");
    describe_counter!(JOBS_CANCELLED, "Attempts that ended cancelled.");
    describe_counter!(JOBS_SNOOZED, "Attempts that snoozed.");
    describe_histogram!(
        ATTEMPT_DURATION,
        metrics::Unit::Seconds,
        "How long attempts ran."
    );
    describe_histogram!(
        JOB_WAIT,
        metrics::Unit::Seconds,
        "From when a job was due to the start of its attempt."
    );
    describe_histogram!(
        CRON_FIRE_LAG,
        metrics::Unit::Seconds,
        "From a cron entry's fire time to the enqueue of its job."
    );
    describe_histogram!(
        STORE_CALL,
        metrics::Unit::Seconds,
        "How long store calls took."
    );
    describe_counter!(STORE_ERRORS, "Store calls that returned an error.");
    metrics::describe_gauge!(QUEUE_DUE, "Jobs due and waiting in a queue.");
    metrics::describe_gauge!(
        QUEUE_OLDEST_AGE,
        metrics::Unit::Seconds,
        "How long the oldest due job of a queue has waited."
    );
    metrics::describe_gauge!(
        STORE_JOBS,
        "Jobs in the store per queue and state (the admin API, when scraped)."
    );
    metrics::describe_gauge!(
        WORKERS_ALIVE,
        "Worker processes with a live heartbeat (the admin API, when scraped)."
    );
}

/// Histogram buckets, in seconds: a millisecond to ten minutes.
#[cfg(feature = "prometheus")]
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 600.0,
];

/// Installs a Prometheus recorder as the process's metrics recorder and
/// returns its handle: `handle.render()` is the text exposition to serve at
/// `/metrics`. A thread drains the histograms every five seconds; workers
/// started afterwards sample the queue gauges ([`sample_queues`]). Fails if
/// a recorder is installed already.
///
/// ```no_run
/// let prometheus = errand::observe::install_prometheus().expect("no other recorder");
/// // ... build clients and workers, run jobs ...
/// let text = prometheus.render();
/// assert!(text.contains("errand_jobs_completed_total") || text.is_empty());
/// ```
#[cfg(feature = "prometheus")]
pub fn install_prometheus()
-> Result<metrics_exporter_prometheus::PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(BUCKETS)?
        .install_recorder()?;
    describe();
    sample_queues(true);
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("errand-metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        })
        .map_err(|e| {
            metrics_exporter_prometheus::BuildError::FailedToCreateRuntime(e.to_string())
        })?;
    Ok(handle)
}
