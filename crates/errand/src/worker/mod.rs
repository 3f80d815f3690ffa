//! The worker: claims due jobs, runs them, records their ends, keeps their
//! leases, rescues jobs of dead workers and shuts down without losing any.

mod builder;
mod completer;
mod drain;
pub(crate) mod executor;
mod fetch;
mod lease;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use errand_core::store::{FinalizeItem, Outcome};
use errand_core::{Backoff, CancellationToken, JobId, StateMap, Store};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};

pub use builder::WorkerBuilder;
pub(crate) use builder::host_name;
pub use drain::DrainSummary;

use crate::registry::Registered;

/// Settings fixed when the worker is built.
pub(crate) struct Config {
    pub name: String,
    pub queues: Vec<String>,
    pub concurrency: usize,
    pub claim_batch: usize,
    pub queue_limits: HashMap<String, usize>,
    pub kind_limits: HashMap<String, usize>,
    pub global_limits: HashMap<String, u32>,
    pub tenant_limits: errand_core::store::TenantLimits,
    /// Queues whose claims rotate among tenants.
    pub fair_queues: Vec<String>,
    pub lease: Duration,
    pub shutdown_timeout: Duration,
    pub poll_interval: Duration,
    pub rescue_interval: Duration,
    pub backoff: Backoff,
}

impl Config {
    /// Whether a limit counts jobs across the cluster (a kind's global limit,
    /// a tenant limit): their slots free when a job's end is written, so
    /// ends are written at once and other processes' workers are woken.
    pub(crate) fn limits_cluster(&self) -> bool {
        !self.global_limits.is_empty() || !self.tenant_limits.is_empty()
    }
}

/// A job this worker is running.
pub(crate) struct RunningJob {
    pub attempt: u32,
    pub kind: String,
    pub queue: String,
    pub token: CancellationToken,
    pub cancel_requested: bool,
    pub abort: Option<AbortHandle>,
}

/// Longest pause between two tries of a failed store call: a store that
/// comes back is used again within this time.
pub(crate) const MAX_ERROR_PAUSE: Duration = Duration::from_millis(500);

pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub config: Config,
    pub registry: HashMap<String, Registered>,
    pub states: Arc<StateMap>,
    pub running: Mutex<HashMap<JobId, RunningJob>>,
    /// Jobs that ended here and whose end the completer has yet to write
    /// (id, attempt): with `running`, every job this worker holds.
    pub finishing: Mutex<HashMap<JobId, u32>>,
    /// A store call failed since the store last heard which jobs this
    /// worker holds: a claim may have reached it without its answer reaching
    /// us, or the store may have lost a result. The lease keeper then has
    /// the store rescue the jobs it holds for this worker beyond those.
    pub store_trouble: std::sync::atomic::AtomicBool,
    /// The fetch lanes' shared state; tells them when a running job ends.
    pub lanes: fetch::Lanes,
    /// One permit per job that may execute at once (the concurrency). Claimed
    /// jobs wait here when the fetch loop claimed ahead.
    pub slots: tokio::sync::Semaphore,
    /// Moving average of how long attempts run, in microseconds; 0 until the first ends.
    pub run_micros: std::sync::atomic::AtomicU64,
    /// The pauses in force as the pause watch last read them from the
    /// store; `None` until the first read (nothing is claimed before).
    pub pauses: tokio::sync::watch::Sender<Option<errand_core::store::PauseSet>>,
    /// The hooks, and the events of attempts whose end is still to be written.
    pub hooks: crate::observe::Hooks,
    /// Per fair queue, the tenant whose job this worker claimed last there:
    /// the next claim's rotation resumes after it.
    pub fair_turns: Mutex<HashMap<String, Option<String>>>,
    /// Asks the idle fetch lane to claim now (`Worker::wake`); a permit
    /// kept while the lane is busy makes its next wait return at once.
    pub nudge: tokio::sync::Notify,
    /// When the worker was built: its heartbeat's start time.
    pub started_at: chrono::DateTime<chrono::Utc>,
}

impl Shared {
    /// Folds one attempt's duration into [`Shared::run_micros`].
    pub(crate) fn record_run(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self.run_micros.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |old| Some(moving_average(old, sample)),
        );
    }

    /// Moves each fair queue's rotation past the tenants of `jobs` (just
    /// claimed, in the order they were picked).
    pub(crate) fn claimed(&self, jobs: &[errand_core::JobRow]) {
        if self.config.fair_queues.is_empty() {
            return;
        }
        // Every update is a single insert: a poisoned map is sound.
        let mut turns = self
            .fair_turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for job in jobs {
            if let Some(tenant) = &job.tenant
                && self.config.fair_queues.contains(&job.queue)
            {
                turns.insert(job.queue.clone(), Some(tenant.clone()));
            }
        }
    }

    /// Notes a failed store call (see [`Shared::store_trouble`]).
    pub(crate) fn trouble(&self) {
        self.store_trouble
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The jobs whose end the completer still has to write.
    pub(crate) fn finishing(&self) -> MutexGuard<'_, HashMap<JobId, u32>> {
        // Every update is a single insert or remove: a poisoned map is sound.
        self.finishing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends job `id` here, if it is still in `running` (else the shutdown
    /// released it first): its end to write moves to `finishing` while
    /// `running` is locked, so that a reader of `running` then `finishing`
    /// sees it in one of them. Returns whether this call ended it.
    pub(crate) fn finish(
        &self,
        id: JobId,
        attempted: executor::Attempted,
        finalize: &mpsc::UnboundedSender<FinalizeItem>,
    ) -> bool {
        let mut running = self.running();
        if running.remove(&id).is_none() {
            return false;
        }
        if let executor::Attempted::Finalize(item) = attempted {
            self.finishing().insert(id, item.attempt);
            drop(running);
            if finalize.send(item).is_err() {
                self.finishing().remove(&id);
                tracing::error!(job = %id, "errand completer is gone; the job returns when its lease expires");
            }
        }
        true
    }

    pub(crate) fn running(&self) -> MutexGuard<'_, HashMap<JobId, RunningJob>> {
        // A poisoned map only means a panic happened while it was locked; the
        // map itself is still consistent (every update is a single insert/remove).
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An exponential moving average over about the last eight samples; the
/// first sample stands alone.
pub(crate) fn moving_average(old: u64, sample: u64) -> u64 {
    if old == 0 {
        sample.max(1)
    } else {
        (old - old / 8).saturating_add(sample / 8).max(1)
    }
}

/// A configured worker. Start it inside your application with [`Worker::start`],
/// or process what is due by hand with [`Worker::drain`].
///
/// ```no_run
/// # #[errand::job]
/// # async fn cleanup() -> Result<(), std::io::Error> { Ok(()) }
/// # async fn demo(store: errand::SqliteStore) -> errand::Result<()> {
/// let worker = errand::Worker::builder(store)
///     .register(cleanup::job())
///     .queues(["high", "default", "low"])
///     .concurrency(16)
///     .build()?;
/// let handle = worker.start();
/// tokio::signal::ctrl_c().await.ok();
/// handle.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Worker {
    shared: Arc<Shared>,
    scheduler: Arc<crate::maintenance::Scheduler>,
    pruner: Arc<crate::maintenance::Pruner>,
    /// The queue gauges, when sampled (see `observe::metrics::sample_queues`).
    queue_gauges: Option<Arc<crate::observe::QueueGauges>>,
    loops: Vec<Arc<crate::loop_job::Loop>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.shared.config.name)
            .field("queues", &self.shared.config.queues)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts configuring a worker of `store`.
    pub fn builder(store: impl Store) -> WorkerBuilder {
        WorkerBuilder::new(crate::observe::instrument(Arc::new(store)))
    }

    /// What the worker's tasks share (for `errand::testing`).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The name this worker claims jobs under (host, process id and a random suffix).
    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    /// Starts the worker's tasks on the current tokio runtime.
    pub fn start(&self) -> WorkerHandle {
        let stop_fetch = CancellationToken::new();
        let stop_background = CancellationToken::new();
        let (finalize_tx, finalize_rx) = mpsc::unbounded_channel();
        let completer = tokio::spawn(completer::run(Arc::clone(&self.shared), finalize_rx));
        let fetch = tokio::spawn(fetch::run(
            Arc::clone(&self.shared),
            finalize_tx.clone(),
            stop_fetch.clone(),
        ));
        let keeper = tokio::spawn(lease::keep_leases(
            Arc::clone(&self.shared),
            stop_background.clone(),
        ));
        let mut background = vec![keeper];
        background.extend(crate::maintenance::start(self.services(), &stop_background));
        let stop_loops = CancellationToken::new();
        let loops = self
            .loops
            .iter()
            .map(|l| {
                tokio::spawn(Arc::clone(l).run(
                    Arc::clone(&self.shared.states),
                    stop_loops.clone(),
                    self.shared.config.shutdown_timeout,
                ))
            })
            .collect();
        tracing::info!(worker = %self.shared.config.name, queues = ?self.shared.config.queues, "errand worker started");
        WorkerHandle {
            shared: Arc::clone(&self.shared),
            stop_fetch,
            stop_background,
            finalize_tx,
            fetch,
            completer,
            background,
            loops: self.loops.clone(),
            stop_loops,
            loop_tasks: loops,
        }
    }

    /// What each loop job did so far.
    pub fn loops(&self) -> Vec<crate::loop_job::LoopStatus> {
        self.loops.iter().map(|l| l.status()).collect()
    }

    /// Makes the running worker claim now instead of at its next wake-up
    /// signal or poll (the admin API's "process now").
    pub fn wake(&self) {
        self.shared.nudge.notify_one();
    }

    /// Every maintenance service this worker runs: its lease rescuer, pause
    /// watch, heartbeat, cron scheduler, pruner, (when sampled) queue gauges and (with
    /// a batch-finished hook) batch hooks, then its store's own (a PostgreSQL store's vacuum, say).
    fn services(&self) -> Vec<Arc<dyn crate::maintenance::Service>> {
        let mut services: Vec<Arc<dyn crate::maintenance::Service>> = vec![
            Arc::new(crate::maintenance::Rescuer {
                shared: Arc::clone(&self.shared),
            }),
            Arc::new(crate::maintenance::PauseWatch {
                shared: Arc::clone(&self.shared),
            }),
            Arc::new(crate::maintenance::Heartbeat {
                shared: Arc::clone(&self.shared),
                loops: self.loops.clone(),
            }),
        ];
        services.push(Arc::clone(&self.scheduler) as Arc<dyn crate::maintenance::Service>);
        services.push(Arc::clone(&self.pruner) as Arc<dyn crate::maintenance::Service>);
        if let Some(gauges) = &self.queue_gauges {
            services.push(Arc::clone(gauges) as Arc<dyn crate::maintenance::Service>);
        }
        if !self.shared.hooks.batch_finished.is_empty() {
            services.push(Arc::new(crate::observe::BatchHooks {
                shared: Arc::clone(&self.shared),
            }));
        }
        services.extend(self.shared.store.services());
        services
    }

    /// Runs every maintenance service of this worker once, at `now` (a time
    /// of the caller's choosing: tests move the clock), and returns what
    /// each did, by name. A service that failed is logged and left out.
    pub async fn maintain(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<(&'static str, crate::maintenance::Report)> {
        let mut done = Vec::new();
        for service in self.services() {
            if let Some(report) = crate::maintenance::run(service.as_ref(), now).await {
                done.push((service.name(), report));
            }
        }
        done
    }

    /// Runs until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(&self, signal: impl std::future::Future<Output = ()>) {
        let handle = self.start();
        signal.await;
        handle.shutdown().await;
    }
}

/// A started worker. Dropping it leaves the worker running; call
/// [`WorkerHandle::shutdown`] to stop it without losing jobs.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    stop_fetch: CancellationToken,
    stop_background: CancellationToken,
    finalize_tx: mpsc::UnboundedSender<FinalizeItem>,
    fetch: JoinHandle<()>,
    completer: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
    loops: Vec<Arc<crate::loop_job::Loop>>,
    stop_loops: CancellationToken,
    loop_tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("worker", &self.shared.config.name)
            .finish_non_exhaustive()
    }
}

impl WorkerHandle {
    /// What each loop job did so far: runs, skipped ticks, failures, the
    /// latest start, end and error.
    pub fn loops(&self) -> Vec<crate::loop_job::LoopStatus> {
        self.loops.iter().map(|l| l.status()).collect()
    }

    /// The number of jobs this worker holds now: running, or claimed ahead
    /// and about to run (see [`WorkerBuilder::concurrency`]).
    pub fn running(&self) -> usize {
        self.shared.running().len()
    }

    /// Stops claiming, lets running jobs finish for up to the shutdown timeout,
    /// then cancels the rest and gives them back to the store without using an
    /// attempt. Returns once every result is written (or the store stayed
    /// unreachable for the shutdown timeout: then the leases bring the jobs back).
    pub async fn shutdown(self) {
        let shared = self.shared;
        // Loop jobs stop ticking and their running ticks are cancelled at
        // once; each waits for its runs up to the shutdown timeout.
        self.stop_loops.cancel();
        self.stop_fetch.cancel();
        if let Err(e) = self.fetch.await {
            tracing::error!(error = %e, "errand fetch loop ended abnormally");
        }
        let deadline = tokio::time::Instant::now() + shared.config.shutdown_timeout;
        loop {
            if shared.running().is_empty() {
                break;
            }
            tokio::select! {
                _ = shared.lanes.job_ended() => {}
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        // Taken from `running` and put into `finishing` under the lock of
        // `running`, as job ends are (see Shared::finish).
        let unfinished: Vec<(JobId, RunningJob)> = {
            let mut running = shared.running();
            let unfinished: Vec<(JobId, RunningJob)> = running.drain().collect();
            let mut finishing = shared.finishing();
            for (id, job) in &unfinished {
                finishing.insert(*id, job.attempt);
            }
            unfinished
        };
        if !unfinished.is_empty() {
            tracing::warn!(
                jobs = unfinished.len(),
                "errand shutdown timeout reached: cancelling running jobs and giving them back"
            );
        }
        for (id, job) in unfinished {
            job.token.cancel();
            if let Some(abort) = job.abort {
                abort.abort();
            }
            let release = FinalizeItem {
                id,
                attempt: job.attempt,
                outcome: Outcome::Release,
            };
            if self.finalize_tx.send(release).is_err() {
                tracing::error!(job = %id, "errand completer is gone; the job returns when its lease expires");
            }
        }
        drop(self.finalize_tx);
        // The completer ends once every sender is gone and its buffer is written.
        let grace = shared.config.shutdown_timeout.max(Duration::from_secs(1));
        let mut completer = self.completer;
        if tokio::time::timeout(grace, &mut completer).await.is_err() {
            tracing::error!(
                "errand could not write final results in time; their leases will bring the jobs back"
            );
            completer.abort();
        }
        self.stop_background.cancel();
        for task in self.background.into_iter().chain(self.loop_tasks) {
            let _ = task.await;
        }
        // Gone from the workers' list at once, not after its heartbeat ages.
        if let Err(e) = shared.store.leave(&shared.config.name).await {
            tracing::warn!(error = %e, "errand worker could not remove its heartbeat; it shows as dead until forgotten");
        }
        tracing::info!(worker = %shared.config.name, "errand worker stopped");
    }
}
