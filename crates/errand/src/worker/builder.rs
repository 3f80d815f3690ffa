use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errand_core::cron::Entry;
use errand_core::store::{EntryKey, TenantLimits};
use errand_core::validate;
use errand_core::{Backoff, Error, Job, JobOptions, NewJob, Result, StateMap, Store};

use super::{Config, Shared, Worker};
use crate::loop_job::{Loop, LoopJob};
use crate::maintenance::{Pruner, Retention, Scheduler};
use crate::registry::Registered;

/// Configures a [`Worker`]. Every setting is checked by [`WorkerBuilder::build`],
/// which names the first bad one.
pub struct WorkerBuilder {
    store: Arc<dyn Store>,
    registry: HashMap<String, Registered>,
    /// Kinds in the order they were registered: the order of the queues a
    /// worker serves when none are listed.
    kinds: Vec<String>,
    duplicate_kinds: Vec<String>,
    queues: Option<Vec<String>>,
    allow_unserved_kinds: bool,
    concurrency: usize,
    claim_batch: Option<usize>,
    queue_limits: HashMap<String, usize>,
    kind_limits: HashMap<String, usize>,
    global_limits: HashMap<String, u32>,
    tenant_limits: TenantLimits,
    tenant_limits_for: HashMap<String, u32>,
    fair_queues: Vec<String>,
    lease: Duration,
    shutdown_timeout: Duration,
    poll_interval: Duration,
    rescue_interval: Option<Duration>,
    backoff: Backoff,
    states: StateMap,
    name: Option<String>,
    cron: Vec<Entry>,
    cron_grace: Duration,
    loops: Vec<LoopJob>,
    retention: Retention,
    hooks: crate::observe::Hooks,
}

impl std::fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("kinds", &self.registry.keys().collect::<Vec<_>>())
            .field("queues", &self.queues)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// This machine's host name, as its heartbeat and its workers' names show it.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}

fn worker_name() -> String {
    let host = host_name();
    // The random suffix tells apart workers of one process and a restarted
    // process that got the same pid.
    format!(
        "{host}-{}-{:06x}",
        std::process::id(),
        fastrand::u32(..0x0100_0000)
    )
}

impl WorkerBuilder {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        WorkerBuilder {
            store,
            registry: HashMap::new(),
            kinds: Vec::new(),
            duplicate_kinds: Vec::new(),
            queues: None,
            allow_unserved_kinds: false,
            concurrency: 10,
            claim_batch: None,
            queue_limits: HashMap::new(),
            kind_limits: HashMap::new(),
            global_limits: HashMap::new(),
            tenant_limits: TenantLimits::default(),
            tenant_limits_for: HashMap::new(),
            fair_queues: Vec::new(),
            lease: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            rescue_interval: None,
            backoff: Backoff::default(),
            states: StateMap::default(),
            name: None,
            cron: Vec::new(),
            cron_grace: errand_core::cron::DEFAULT_GRACE,
            loops: Vec::new(),
            retention: Retention::default(),
            hooks: crate::observe::Hooks::default(),
        }
    }

    /// Registers a job kind. Only registered kinds are claimed; jobs of other
    /// kinds stay in the store untouched.
    pub fn register<J: Job>(mut self, job: J) -> Self {
        let registered = Registered::new(job);
        if let Some(limit) = registered.options.concurrency {
            self.kind_limits.entry(J::KIND.to_owned()).or_insert(limit);
        }
        if let Some(limit) = registered.options.global_concurrency {
            self.global_limits
                .entry(J::KIND.to_owned())
                .or_insert(limit);
        }
        if self
            .registry
            .insert(J::KIND.to_owned(), registered)
            .is_some()
        {
            self.duplicate_kinds.push(J::KIND.to_owned());
        } else {
            self.kinds.push(J::KIND.to_owned());
        }
        self
    }

    /// The queues to consume, in order of preference: the first queue with due
    /// jobs wins.
    ///
    /// Without this call a worker serves the queues its kinds declare
    /// (`#[errand::job(queue = "...")]`, else `default`), in the order the
    /// kinds were registered. With it, [`build`](Self::build) refuses a
    /// registered kind whose declared queue is not listed (its jobs would
    /// never run here), unless [`allow_unserved_kinds`](Self::allow_unserved_kinds).
    pub fn queues<I, S>(mut self, queues: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.queues = Some(queues.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts registered kinds whose declared queue this worker does not
    /// serve: for deployments where each process registers every kind but
    /// serves only some queues, and for kinds only ever enqueued into
    /// another queue with `.queue(..)`.
    pub fn allow_unserved_kinds(mut self) -> Self {
        self.allow_unserved_kinds = true;
        self
    }

    /// Most jobs running at once in this worker (default 10, at most
    /// [`MAX_CONCURRENCY`](errand_core::validate::MAX_CONCURRENCY)).
    ///
    /// While its queues have more due jobs than it takes and its jobs end
    /// faster than a claim's round trip to the store (and within 10 ms on
    /// average), the worker claims up to as many again ahead: those wait in
    /// the process, their leases kept, for a slot that frees within that
    /// round trip. No more than `n` ever run at once, and long jobs are never
    /// claimed ahead.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Most jobs claimed in one store round trip (default: four times the
    /// concurrency, at most 200; a claim takes more jobs than there are free
    /// slots only when the worker claims ahead of short jobs). At most
    /// [`MAX_CLAIM_BATCH`](errand_core::validate::MAX_CLAIM_BATCH).
    pub fn claim_batch(mut self, n: usize) -> Self {
        self.claim_batch = Some(n);
        self
    }

    /// Most jobs of `queue` running at once in this worker; the queue must be
    /// one the worker serves.
    pub fn queue_limit(mut self, queue: impl Into<String>, n: usize) -> Self {
        self.queue_limits.insert(queue.into(), n);
        self
    }

    /// Most jobs of `kind` running at once in this worker; the kind must be
    /// registered.
    pub fn kind_limit(mut self, kind: impl Into<String>, n: usize) -> Self {
        self.kind_limits.insert(kind.into(), n);
        self
    }

    /// Most jobs of `kind` running at once across every worker of the store
    /// (at most [`MAX_GLOBAL_LIMIT`](errand_core::validate::MAX_GLOBAL_LIMIT));
    /// the kind must be registered.
    pub fn global_limit(mut self, kind: impl Into<String>, n: u32) -> Self {
        self.global_limits.insert(kind.into(), n);
        self
    }

    /// Most jobs of any one tenant running at once across every worker of
    /// the store (at most [`MAX_GLOBAL_LIMIT`](errand_core::validate::MAX_GLOBAL_LIMIT));
    /// jobs without a tenant are not limited. Like a global limit, every
    /// worker that claims the tenants' jobs should set it.
    ///
    /// ```no_run
    /// # async fn run(store: std::sync::Arc<dyn errand::Store>) -> errand::Result<()> {
    /// let worker = errand::Worker::builder(store)
    ///     .tenant_limit(5)
    ///     .tenant_limit_for("big-customer", 20)
    ///     .allow_unserved_kinds()
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn tenant_limit(mut self, n: u32) -> Self {
        self.tenant_limits.each = Some(n);
        self
    }

    /// The limit of one tenant across every worker of the store, over
    /// [`tenant_limit`](Self::tenant_limit) (which need not be set).
    pub fn tenant_limit_for(mut self, tenant: impl Into<String>, n: u32) -> Self {
        self.tenant_limits_for.insert(tenant.into(), n);
        self
    }

    /// Claims of `queue` rotate among its tenants: each round takes the
    /// first due job of every tenant with due jobs, then the queue's first
    /// due job in its usual order (how jobs without a tenant are reached),
    /// so one tenant's backlog delays another tenant's first job by at most
    /// two claims. The queue must be one the worker serves.
    pub fn fair_queue(mut self, queue: impl Into<String>) -> Self {
        let queue = queue.into();
        if !self.fair_queues.contains(&queue) {
            self.fair_queues.push(queue);
        }
        self
    }

    /// How long a claim holds a job without renewal (default 30 s, between
    /// 300 ms and 24 h). Leases are renewed every third of this (at least
    /// every second); a dead worker's jobs return after it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long shutdown waits for running jobs before cancelling them
    /// (default 30 s, at most 24 h).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How often an idle worker looks for due jobs without a wake-up signal
    /// (default 1 s, at most 24 h).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How often the worker returns jobs with expired leases (default: half
    /// the lease, between 100 ms and 30 s; at most 24 h).
    pub fn rescue_interval(mut self, interval: Duration) -> Self {
        self.rescue_interval = Some(interval);
        self
    }

    /// The backoff of kinds that do not set their own.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Adds a shared value that jobs receive with a `State<T>` parameter.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// Adds an already shared value for `State<T>`.
    pub fn state_arc<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.states.insert_arc(value);
        self
    }

    /// The worker's name in the store (default: host, process id, random suffix).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Defines a cron entry in code. It is written to the store when the
    /// worker starts: created if missing (or deleted), its definition
    /// updated, its stored enabled flag and note kept. Its kind must be
    /// registered here (or `.allow_unserved_kinds()` called).
    pub fn cron(mut self, entry: Entry) -> Self {
        self.cron.push(entry);
        self
    }

    /// How late a cron fire time may be seen and still count as on time
    /// (default 60 s): older ones were missed (no scheduler ran) and follow
    /// their entry's missed-fire policy.
    pub fn cron_grace(mut self, grace: Duration) -> Self {
        self.cron_grace = grace;
        self
    }

    /// How long finished jobs are kept before the pruner deletes them
    /// (default: completed 1 day, failed and cancelled 7 days;
    /// [`Retention::forever`] keeps them all).
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Calls `hook` after every failed attempt is recorded (retried or
    /// failed for good), in a task of its own. A hook that returns an error
    /// or panics is logged and changes no job.
    ///
    /// ```no_run
    /// # #[errand::job]
    /// # async fn cleanup() -> Result<(), std::io::Error> { Ok(()) }
    /// # fn demo(store: errand::SqliteStore) -> errand::Result<()> {
    /// let worker = errand::Worker::builder(store)
    ///     .register(cleanup::job())
    ///     .on_attempt_failed(|event| async move {
    ///         eprintln!("job {} attempt {} failed: {}", event.id, event.attempt, event.error.message);
    ///     })
    ///     .on_job_failed(|event| async move {
    ///         // Page someone; an Err here is logged.
    ///         Ok::<(), std::io::Error>(())
    ///     })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_attempt_failed<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(crate::observe::JobEvent) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future + Send + 'static,
        Fut::Output: crate::observe::HookOutput,
    {
        self.hooks.attempt_failed.push(crate::observe::hook(hook));
        self
    }

    /// Calls `hook` after a job failed for good (attempts used up, or a
    /// fatal error) is recorded: it is in the dead-letter set. Like
    /// [`on_attempt_failed`](Self::on_attempt_failed) otherwise.
    pub fn on_job_failed<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(crate::observe::JobEvent) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future + Send + 'static,
        Fut::Output: crate::observe::HookOutput,
    {
        self.hooks.job_failed.push(crate::observe::hook(hook));
        self
    }

    /// Calls `hook` after a batch finished (its last job ended, or it was
    /// cancelled, or it was empty), with its final counts; a task of its own,
    /// logged if it fails or panics, like [`on_attempt_failed`](Self::on_attempt_failed).
    ///
    /// The store marks each batch as it finishes, whichever process ended it,
    /// and hands it to one worker with such a hook: among all of them, one
    /// runs its hooks, once, within about a second. A batch taken by a process
    /// that dies before its hooks ran is not delivered again.
    ///
    /// ```no_run
    /// # #[errand::job]
    /// # async fn resize() -> Result<(), std::io::Error> { Ok(()) }
    /// # fn demo(store: errand::SqliteStore) -> errand::Result<()> {
    /// let worker = errand::Worker::builder(store)
    ///     .register(resize::job())
    ///     .on_batch_finished(|batch: errand::Batch| async move {
    ///         eprintln!("batch {} done: {} failed", batch.id, batch.counts.failed);
    ///     })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_batch_finished<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(errand_core::store::Batch) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future + Send + 'static,
        Fut::Output: crate::observe::HookOutput,
    {
        self.hooks.batch_finished.push(crate::observe::hook(hook));
        self
    }

    /// Adds a loop job: periodic work this worker runs in-process (every
    /// worker process runs its own), checked at `build()`.
    pub fn loop_job(mut self, job: LoopJob) -> Self {
        self.loops.push(job);
        self
    }

    /// Checks the configuration and builds the worker. The error names the
    /// first bad setting and its value.
    pub fn build(mut self) -> Result<Worker> {
        if let Some(kind) = self.duplicate_kinds.first() {
            return Err(Error::invalid("kind", kind, "is registered twice"));
        }
        if self.kinds.is_empty() && self.loops.is_empty() {
            return Err(Error::invalid(
                "register",
                "(no kinds)",
                "register at least one job kind: .register(my_job::job())",
            ));
        }
        for kind in &self.kinds {
            validate::kind(kind)?;
            check_options(kind, &self.registry[kind].options)?;
        }
        let declared: Vec<(String, String)> = self
            .kinds
            .iter()
            .map(|kind| (kind.clone(), declared_queue(&self.registry[kind].options)))
            .collect();
        let queues = match self.queues.take() {
            Some(queues) => {
                if queues.is_empty() {
                    return Err(Error::invalid(
                        "queues",
                        "[]",
                        "must name at least one queue",
                    ));
                }
                for (i, queue) in queues.iter().enumerate() {
                    validate::queue(queue)?;
                    if queues[..i].contains(queue) {
                        return Err(Error::invalid("queues", queue, "is listed twice"));
                    }
                }
                if !self.allow_unserved_kinds
                    && let Some((kind, queue)) = declared.iter().find(|(_, q)| !queues.contains(q))
                {
                    return Err(Error::invalid(
                        "queues",
                        format!("{queues:?}"),
                        format!(
                            "do not include {queue:?}, the queue of registered kind {kind:?}: its jobs would never run here (add the queue, or call .allow_unserved_kinds() if another worker serves it)"
                        ),
                    ));
                }
                queues
            }
            None => {
                let mut queues: Vec<String> = Vec::new();
                for (_, queue) in declared {
                    if !queues.contains(&queue) {
                        queues.push(queue);
                    }
                }
                queues
            }
        };
        validate::limit("concurrency", self.concurrency, validate::MAX_CONCURRENCY)?;
        // Four times the concurrency, capped: fewer claims per job, and a
        // bound on how long one claim holds the store (docs/design.md, "the
        // fetch lanes").
        let claim_batch = self
            .claim_batch
            .unwrap_or(self.concurrency.saturating_mul(4).min(200));
        validate::limit("claim_batch", claim_batch, validate::MAX_CLAIM_BATCH)?;
        for (queue, n) in sorted(&self.queue_limits) {
            validate::queue(queue)?;
            if !queues.contains(queue) {
                return Err(Error::invalid(
                    "queue_limit",
                    queue,
                    format!("is not a queue this worker serves ({queues:?})"),
                ));
            }
            validate::limit(
                &format!("queue_limit[{queue}]"),
                *n,
                validate::MAX_CONCURRENCY,
            )?;
        }
        for (kind, n) in sorted(&self.kind_limits) {
            self.registered("kind_limit", kind)?;
            validate::limit(
                &format!("kind_limit[{kind}]"),
                *n,
                validate::MAX_CONCURRENCY,
            )?;
        }
        for (kind, n) in sorted(&self.global_limits) {
            self.registered("global_limit", kind)?;
            validate::limit(
                &format!("global_limit[{kind}]"),
                *n as usize,
                validate::MAX_GLOBAL_LIMIT as usize,
            )?;
        }
        if let Some(n) = self.tenant_limits.each {
            validate::limit(
                "tenant_limit",
                n as usize,
                validate::MAX_GLOBAL_LIMIT as usize,
            )?;
        }
        for (tenant, n) in sorted(&self.tenant_limits_for) {
            validate::tenant(tenant)?;
            validate::limit(
                &format!("tenant_limit_for[{tenant}]"),
                *n as usize,
                validate::MAX_GLOBAL_LIMIT as usize,
            )?;
            self.tenant_limits.tenants.insert(tenant.clone(), *n);
        }
        for queue in &self.fair_queues {
            validate::queue(queue)?;
            if !queues.contains(queue) {
                return Err(Error::invalid(
                    "fair_queue",
                    queue,
                    format!("is not a queue this worker serves ({queues:?})"),
                ));
            }
        }
        validate::duration(
            "lease",
            self.lease,
            validate::MIN_LEASE,
            validate::MAX_LEASE,
        )?;
        validate::duration(
            "shutdown_timeout",
            self.shutdown_timeout,
            Duration::ZERO,
            validate::MAX_WORKER_INTERVAL,
        )?;
        validate::duration(
            "poll_interval",
            self.poll_interval,
            Duration::from_millis(1),
            validate::MAX_WORKER_INTERVAL,
        )?;
        let rescue_interval = self
            .rescue_interval
            .unwrap_or((self.lease / 2).clamp(Duration::from_millis(100), Duration::from_secs(30)));
        validate::duration(
            "rescue_interval",
            rescue_interval,
            Duration::from_millis(1),
            validate::MAX_WORKER_INTERVAL,
        )?;
        let name = match self.name.take() {
            Some(name) => {
                validate::worker_name(&name)?;
                name
            }
            None => worker_name(),
        };
        self.store.provide(&mut self.states);
        // What batch extractors (`Continued`, `InBatch`) reach the store through.
        self.states
            .insert(crate::batch::JobClient(crate::Client::from_store(
                Arc::clone(&self.store),
            )));
        for kind in &self.kinds {
            self.registry[kind]
                .handler
                .check(&self.states)
                .map_err(|reason| Error::invalid("kind", kind, reason))?;
        }
        let concurrency = self.concurrency;
        let config = Config {
            name,
            queues,
            concurrency: self.concurrency,
            claim_batch,
            queue_limits: self.queue_limits,
            kind_limits: self.kind_limits,
            global_limits: self.global_limits,
            tenant_limits: std::mem::take(&mut self.tenant_limits),
            fair_queues: std::mem::take(&mut self.fair_queues),
            lease: self.lease,
            shutdown_timeout: self.shutdown_timeout,
            poll_interval: self.poll_interval,
            rescue_interval,
            backoff: self.backoff,
        };
        validate::duration(
            "cron_grace",
            self.cron_grace,
            Duration::from_secs(1),
            Duration::from_secs(7 * 24 * 3600),
        )?;
        let mut entries = HashMap::new();
        for entry in &self.cron {
            entry.validate()?;
            let key = EntryKey::new(entry.tenant.as_deref(), &entry.name);
            if !self.allow_unserved_kinds && !self.registry.contains_key(&entry.kind) {
                return Err(Error::invalid(
                    format!("cron entry {:?} kind", entry.name),
                    &entry.kind,
                    format!(
                        "is not a registered kind ({:?}): register it, or call .allow_unserved_kinds() if another worker runs it",
                        self.kinds
                    ),
                ));
            }
            if entries.insert(key.clone(), entry.clone()).is_some() {
                return Err(Error::invalid("cron", key, "is defined twice"));
            }
        }
        let mut loops: Vec<Arc<Loop>> = Vec::new();
        for job in self.loops {
            if loops.iter().any(|l| l.job.name() == job.name()) {
                return Err(Error::invalid("loop_job", job.name(), "is added twice"));
            }
            loops.push(Arc::new(Loop::new(job)?));
        }
        self.retention.validate()?;
        let pruner = Arc::new(Pruner {
            store: Arc::clone(&self.store),
            retention: self.retention,
            interval: Duration::from_secs(60),
            cursors: std::sync::Mutex::new([None; 3]),
        });
        let scheduler = Arc::new(Scheduler {
            store: Arc::clone(&self.store),
            kinds: self.kinds.clone(),
            entries,
            grace: self.cron_grace,
            interval: Duration::from_secs(1),
            synced: std::sync::atomic::AtomicBool::new(false),
        });
        let shared = Arc::new(Shared {
            store: self.store,
            config,
            registry: self.registry,
            states: Arc::new(self.states),
            running: Mutex::new(HashMap::new()),
            finishing: Mutex::new(HashMap::new()),
            store_trouble: std::sync::atomic::AtomicBool::new(false),
            lanes: super::fetch::Lanes::default(),
            slots: tokio::sync::Semaphore::new(concurrency),
            run_micros: std::sync::atomic::AtomicU64::new(0),
            pauses: tokio::sync::watch::Sender::new(None),
            hooks: self.hooks,
            fair_turns: Mutex::new(HashMap::new()),
            nudge: tokio::sync::Notify::new(),
            started_at: chrono::Utc::now(),
        });
        let queue_gauges = crate::observe::metrics::sampling_queues().then(|| {
            Arc::new(crate::observe::QueueGauges {
                shared: Arc::clone(&shared),
                seen: std::sync::Mutex::default(),
            })
        });
        Ok(Worker {
            scheduler,
            pruner,
            queue_gauges,
            loops,
            shared,
        })
    }

    /// A limit's kind must be registered: a limit on a typo would hold nothing.
    fn registered(&self, field: &str, kind: &str) -> Result<()> {
        if self.registry.contains_key(kind) {
            return Ok(());
        }
        Err(Error::invalid(
            field,
            kind,
            format!("is not a registered kind ({:?})", self.kinds),
        ))
    }
}

/// The queue a kind's jobs go to unless an enqueue says otherwise.
fn declared_queue(options: &JobOptions) -> String {
    options
        .queue
        .clone()
        .unwrap_or_else(|| NewJob::DEFAULT_QUEUE.to_owned())
}

/// A kind's own options (set by `#[errand::job]` or an `impl Job`), checked
/// as the builder's are.
fn check_options(kind: &str, options: &JobOptions) -> Result<()> {
    if let Some(queue) = &options.queue {
        validate::queue(queue).map_err(|e| in_kind(kind, e))?;
    }
    if let Some(n) = options.max_attempts {
        validate::max_attempts(n).map_err(|e| in_kind(kind, e))?;
    }
    if let Some(timeout) = options.timeout {
        validate::duration(
            &format!("timeout of {kind}"),
            timeout,
            Duration::from_millis(1),
            Duration::MAX,
        )?;
    }
    if let Some(n) = options.concurrency {
        validate::limit(
            &format!("concurrency of {kind}"),
            n,
            validate::MAX_CONCURRENCY,
        )?;
    }
    if let Some(n) = options.global_concurrency {
        validate::limit(
            &format!("global_concurrency of {kind}"),
            n as usize,
            validate::MAX_GLOBAL_LIMIT as usize,
        )?;
    }
    Ok(())
}

/// An option's error, its field prefixed with the kind that set it.
fn in_kind(kind: &str, e: Error) -> Error {
    match e {
        Error::Invalid {
            field,
            value,
            reason,
        } => Error::Invalid {
            field: format!("{field} of {kind}"),
            value,
            reason,
        },
        other => other,
    }
}

/// A map's entries in key order, so that the first bad one named is always the same.
fn sorted<V>(map: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}
