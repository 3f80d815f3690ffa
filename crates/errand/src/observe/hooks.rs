//! Hooks: async functions a worker calls when an attempt fails, a job fails
//! for good or a batch finishes, after the store has recorded it (never
//! inside the store's write). A hook that fails or panics is logged; it
//! changes no job.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use errand_core::store::Outcome;
use errand_core::{AttemptError, JobId, JobRow};

/// A failed attempt or a job failed for good, as hooks receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    /// The job.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its queue.
    pub queue: String,
    /// Its tenant, if any.
    pub tenant: Option<String>,
    /// The batch it belongs to, if any.
    pub batch_id: Option<i64>,
    /// The attempt that failed.
    pub attempt: u32,
    /// Its attempt limit.
    pub max_attempts: u32,
    /// The attempt's error.
    pub error: AttemptError,
    /// When the next attempt is due (`None`: the job failed for good).
    pub retry_at: Option<DateTime<Utc>>,
}

/// The attempt an event would be about, taken from the job before it runs
/// (only when some hook listens).
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    id: JobId,
    kind: String,
    queue: String,
    tenant: Option<String>,
    batch_id: Option<i64>,
    attempt: u32,
    max_attempts: u32,
}

impl Subject {
    pub(crate) fn of(job: &JobRow) -> Self {
        Subject {
            id: job.id,
            kind: job.kind.clone(),
            queue: job.queue.clone(),
            tenant: job.tenant.clone(),
            batch_id: job.batch_id,
            attempt: job.attempt,
            max_attempts: job.max_attempts,
        }
    }

    /// The event of this attempt ending with `outcome`, when that outcome is
    /// a failure hooks hear of (a retry or a failure for good).
    pub(crate) fn event(self, outcome: &Outcome) -> Option<JobEvent> {
        let (error, retry_at) = match outcome {
            Outcome::Retry { run_at, error } => (error, Some(*run_at)),
            Outcome::Fail { error } => (error, None),
            _ => return None,
        };
        Some(JobEvent {
            id: self.id,
            kind: self.kind,
            queue: self.queue,
            tenant: self.tenant,
            batch_id: self.batch_id,
            attempt: self.attempt,
            max_attempts: self.max_attempts,
            error: error.clone(),
            retry_at,
        })
    }
}

impl JobEvent {
    /// The job failed for good (its attempts are used up, or the error was
    /// fatal): it is in the dead-letter set.
    pub fn failed_for_good(&self) -> bool {
        self.retry_at.is_none()
    }
}

/// What a hook's future may return: nothing, or a `Result` whose error is logged.
pub trait HookOutput {
    /// The error to log, if any.
    fn error(self) -> Option<String>;
}

impl HookOutput for () {
    fn error(self) -> Option<String> {
        None
    }
}

impl<E: std::fmt::Display> HookOutput for Result<(), E> {
    fn error(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// One hook hearing of events `E`, type-erased.
pub(crate) type Hook<E> = Arc<dyn Fn(E) -> BoxFuture + Send + Sync>;

/// Erases `hook`'s type.
pub(crate) fn hook<E, F, Fut>(hook: F) -> Hook<E>
where
    F: Fn(E) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HookOutput,
{
    Arc::new(move |event| {
        let run = hook(event);
        Box::pin(async move { run.await.error() })
    })
}

/// Runs `hook` on `event` in a task of its own (a slow hook holds up
/// nothing), and logs its error or panic naming the hook and `subject`.
pub(crate) fn spawn<E>(
    name: &'static str,
    hook: &Hook<E>,
    event: E,
    subject: String,
) -> tokio::task::JoinHandle<()> {
    let run = tokio::spawn(hook(event));
    tokio::spawn(async move {
        match run.await {
            Ok(None) => {}
            Ok(Some(error)) => tracing::warn!(hook = name, subject, error, "errand hook failed"),
            Err(e) => tracing::error!(hook = name, subject, error = %e, "errand hook panicked"),
        }
    })
}

/// The hooks of a worker, and the events of attempts whose end is still
/// to be recorded.
#[derive(Default)]
pub(crate) struct Hooks {
    /// Every failed attempt, retried or not.
    pub attempt_failed: Vec<Hook<JobEvent>>,
    /// Jobs failed for good.
    pub job_failed: Vec<Hook<JobEvent>>,
    /// Batches finished.
    pub batch_finished: Vec<Hook<errand_core::store::Batch>>,
    /// Events waiting for their attempt's end to be written, by job and attempt.
    pending: std::sync::Mutex<std::collections::HashMap<(JobId, u32), JobEvent>>,
}

impl Hooks {
    /// Whether any hook hears of attempts: without one, no job event is
    /// even built.
    pub(crate) fn any_job_hook(&self) -> bool {
        !self.attempt_failed.is_empty() || !self.job_failed.is_empty()
    }

    fn pending(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(JobId, u32), JobEvent>> {
        // Every update is one insert or remove: a poisoned map is sound.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `event` until its attempt's end is written.
    pub(crate) fn hold(&self, event: JobEvent) {
        self.pending().insert((event.id, event.attempt), event);
    }

    /// The end of attempt `attempt` of job `id` was written (`recorded`) or
    /// dropped by the store: starts the hooks of its event, if any.
    pub(crate) fn ended(
        &self,
        id: JobId,
        attempt: u32,
        recorded: bool,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        if !self.any_job_hook() {
            return Vec::new();
        }
        match self.pending().remove(&(id, attempt)) {
            Some(event) if recorded => self.dispatch(event),
            _ => Vec::new(),
        }
    }

    /// Starts every hook that hears of `event`, each in a task of its own.
    fn dispatch(&self, event: JobEvent) -> Vec<tokio::task::JoinHandle<()>> {
        let job_failed = event.failed_for_good().then_some(&self.job_failed);
        let subject = format!("job {} attempt {}", event.id, event.attempt);
        self.attempt_failed
            .iter()
            .map(|h| ("attempt_failed", h))
            .chain(job_failed.into_iter().flatten().map(|h| ("job_failed", h)))
            .map(|(name, hook)| spawn(name, hook, event.clone(), subject.clone()))
            .collect()
    }
}
