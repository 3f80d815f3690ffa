use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errand_core::validate;
use errand_core::{Backoff, Error, Job, Result, StateMap, Store};

use super::{Config, Shared, Worker};
use crate::registry::Registered;

/// Configures a [`Worker`]. Every setting is checked by [`WorkerBuilder::build`],
/// which names the first bad one.
pub struct WorkerBuilder {
    store: Arc<dyn Store>,
    registry: HashMap<String, Registered>,
    duplicate_kinds: Vec<String>,
    queues: Vec<String>,
    concurrency: usize,
    claim_batch: Option<usize>,
    queue_limits: HashMap<String, usize>,
    kind_limits: HashMap<String, usize>,
    global_limits: HashMap<String, u32>,
    lease: Duration,
    shutdown_timeout: Duration,
    poll_interval: Duration,
    rescue_interval: Option<Duration>,
    backoff: Backoff,
    states: StateMap,
    name: Option<String>,
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

fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
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
            duplicate_kinds: Vec::new(),
            queues: vec!["default".to_owned()],
            concurrency: 10,
            claim_batch: None,
            queue_limits: HashMap::new(),
            kind_limits: HashMap::new(),
            global_limits: HashMap::new(),
            lease: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            rescue_interval: None,
            backoff: Backoff::default(),
            states: StateMap::default(),
            name: None,
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
        }
        self
    }

    /// The queues to consume, in order of preference: the first queue with due
    /// jobs wins. Default: `["default"]`.
    pub fn queues<I, S>(mut self, queues: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.queues = queues.into_iter().map(Into::into).collect();
        self
    }

    /// Most jobs running at once in this worker (default 10).
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
    /// slots only when the worker claims ahead of short jobs).
    pub fn claim_batch(mut self, n: usize) -> Self {
        self.claim_batch = Some(n);
        self
    }

    /// Most jobs of `queue` running at once in this worker.
    pub fn queue_limit(mut self, queue: impl Into<String>, n: usize) -> Self {
        self.queue_limits.insert(queue.into(), n);
        self
    }

    /// Most jobs of `kind` running at once in this worker.
    pub fn kind_limit(mut self, kind: impl Into<String>, n: usize) -> Self {
        self.kind_limits.insert(kind.into(), n);
        self
    }

    /// Most jobs of `kind` running at once across every worker of the store.
    pub fn global_limit(mut self, kind: impl Into<String>, n: u32) -> Self {
        self.global_limits.insert(kind.into(), n);
        self
    }

    /// How long a claim holds a job without renewal (default 30 s). Leases are
    /// renewed every third of this; a dead worker's jobs return after it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long shutdown waits for running jobs before cancelling them (default 30 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How often an idle worker looks for due jobs without a wake-up signal (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How often the worker returns jobs with expired leases (default: half the lease).
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

    /// Checks the configuration and builds the worker.
    pub fn build(mut self) -> Result<Worker> {
        if let Some(kind) = self.duplicate_kinds.first() {
            return Err(Error::invalid("kind", kind, "is registered twice"));
        }
        if self.registry.is_empty() {
            return Err(Error::Config(
                "no job kind registered: call .register(my_job::job())".into(),
            ));
        }
        if self.queues.is_empty() {
            return Err(Error::invalid(
                "queues",
                "[]",
                "must name at least one queue",
            ));
        }
        for (i, queue) in self.queues.iter().enumerate() {
            validate::queue(queue)?;
            if self.queues[..i].contains(queue) {
                return Err(Error::invalid("queues", queue, "is listed twice"));
            }
        }
        validate::limit("concurrency", self.concurrency)?;
        // Four times rather than twice: a busy worker makes half the claims
        // per job (BENCHMARKS.md, "Claim batch"); the cap bounds how long
        // one claim holds the store (a Redis script blocks its server).
        let claim_batch = self
            .claim_batch
            .unwrap_or(self.concurrency.saturating_mul(4).min(200));
        validate::limit("claim_batch", claim_batch)?;
        for (queue, n) in &self.queue_limits {
            validate::queue(queue)?;
            validate::limit(&format!("queue_limit[{queue}]"), *n)?;
        }
        for (kind, n) in &self.kind_limits {
            validate::limit(&format!("kind_limit[{kind}]"), *n)?;
        }
        for (kind, n) in &self.global_limits {
            validate::limit(&format!("global_limit[{kind}]"), *n as usize)?;
        }
        if self.lease < Duration::from_millis(300) {
            return Err(Error::invalid(
                "lease",
                format!("{:?}", self.lease),
                "must be at least 300ms",
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::invalid(
                "poll_interval",
                "0s",
                "must be longer than zero",
            ));
        }
        let rescue_interval = self
            .rescue_interval
            .unwrap_or((self.lease / 2).clamp(Duration::from_millis(100), Duration::from_secs(30)));
        if rescue_interval.is_zero() {
            return Err(Error::invalid(
                "rescue_interval",
                "0s",
                "must be longer than zero",
            ));
        }
        self.store.provide(&mut self.states);
        for (kind, registered) in &self.registry {
            validate::kind(kind)?;
            registered
                .handler
                .check(&self.states)
                .map_err(|reason| Error::Config(format!("job {kind}: {reason}")))?;
        }
        let concurrency = self.concurrency;
        let config = Config {
            name: self.name.unwrap_or_else(worker_name),
            queues: self.queues,
            concurrency: self.concurrency,
            claim_batch,
            queue_limits: self.queue_limits,
            kind_limits: self.kind_limits,
            global_limits: self.global_limits,
            lease: self.lease,
            shutdown_timeout: self.shutdown_timeout,
            poll_interval: self.poll_interval,
            rescue_interval,
            backoff: self.backoff,
        };
        Ok(Worker {
            shared: Arc::new(Shared {
                store: self.store,
                config,
                registry: self.registry,
                states: Arc::new(self.states),
                running: Mutex::new(HashMap::new()),
                lanes: super::fetch::Lanes::default(),
                slots: tokio::sync::Semaphore::new(concurrency),
                run_micros: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }
}
