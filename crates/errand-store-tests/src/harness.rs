//! What a backend hands to the conformance cases.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use errand::{JobId, NewJob, Result, Store, WorkerBuilder};

/// A fresh, isolated store (its own file, schema or key prefix) for one case.
pub struct Harness {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// The URL another process opens the same store with.
    pub url: String,
    /// The schema or key prefix another process must use, if not the default.
    pub namespace: Option<String>,
    /// Enqueue through the application's own transaction, where the backend can.
    pub tx: Option<Arc<dyn TxProbe>>,
    /// The probe worker binary that process cases start (set by [`trials`](crate::trials)).
    pub probe_worker: Option<std::path::PathBuf>,
    /// Keeps temporary resources (a directory, a schema) alive for the case.
    pub guard: Box<dyn Any + Send + Sync>,
    /// Removes what the case left behind (a schema, keys) once it passed.
    pub cleanup: Option<Cleanup>,
    /// Opens another connection to the same store (another process's view),
    /// set by the backend.
    pub reopen: Option<Reopen>,
    /// Why the case did not run, when the backend lacks what it needs; the
    /// trial then reports it as ignored, not passed.
    pub skipped: std::sync::Mutex<Option<String>>,
}

/// Opens another connection to a harness's store.
pub type Reopen =
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<Arc<dyn Store>>> + Send + Sync>;

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("backend", &self.store.backend())
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Removes a case's leftovers.
pub type Cleanup = Box<dyn FnOnce() -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

impl Harness {
    /// Runs the cleanup, if any.
    pub async fn finish(mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            cleanup().await;
        }
    }

    /// Another store instance on the same data, as another process would
    /// open it (its own connections, listener and wake-ups).
    pub async fn another(&self) -> Result<Arc<dyn Store>> {
        match &self.reopen {
            Some(reopen) => reopen().await,
            None => Err(errand::Error::invalid(
                "reopen",
                self.store.backend(),
                "this harness cannot open its store again",
            )),
        }
    }

    /// Records a skip and returns true when the backend lacks what a case
    /// needs; the trial is then reported as ignored with that reason.
    pub fn skip_unless(&self, capable: bool, what: &str) -> bool {
        if !capable {
            self.skip(format!("the {} store cannot {what}", self.store.backend()));
        }
        !capable
    }

    /// Records why the case does not run.
    pub fn skip(&self, reason: String) {
        let mut skipped = self
            .skipped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *skipped = Some(reason);
    }

    /// Why the case did not run, if it skipped.
    pub fn skip_reason(&self) -> Option<String> {
        self.skipped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A transaction of the application, on its own connection.
#[async_trait]
pub trait TxProbe: Send + Sync {
    /// Begins a transaction, enqueues `job` in it and leaves it open.
    async fn begin_and_enqueue(&self, job: NewJob, now: DateTime<Utc>) -> Result<Box<dyn OpenTx>>;
    /// Begins a transaction, creates `batch` in it (through the facade's
    /// `enqueue_in_*`) and leaves it open; the open transaction's id is the
    /// batch's first job.
    async fn begin_and_create_batch(
        &self,
        batch: errand::BatchBuilder,
    ) -> Result<(errand::BatchHandle, Box<dyn OpenTx>)>;
    /// Creates the table `tx_effect` jobs write to (if missing) and returns
    /// its name as those jobs need it in [`EffectGates`](crate::jobs::EffectGates).
    async fn effects_table(&self) -> Result<String>;
    /// How many effect rows for `key` are committed.
    async fn effects(&self, key: &str) -> Result<i64>;
    /// Registers the backend's `tx_effect` job, which writes its effect
    /// through the backend's transaction extractor.
    fn with_effect_job(&self, builder: WorkerBuilder) -> WorkerBuilder;
}

/// An open application transaction holding an enqueued job.
#[async_trait]
pub trait OpenTx: Send {
    /// The id the job got inside the transaction.
    fn id(&self) -> JobId;
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Rolls back.
    async fn rollback(self: Box<Self>) -> Result<()>;
}
