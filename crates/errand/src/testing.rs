//! What an application needs in its own tests (feature `testing`): a store
//! in a temporary file, assertions on what was enqueued, one job run inline
//! through the real executor with the worker's state, and — on the worker
//! itself — [`Worker::drain_at`] to process what is due at a chosen time.
//!
//! ```
//! use errand::{Client, JobError, Worker};
//! use errand::testing::{self, Ran};
//!
//! #[errand::job(queue = "mail")]
//! async fn send_welcome(input: String) -> Result<String, JobError> {
//!     if input.contains('@') {
//!         Ok(format!("sent to {input}"))
//!     } else {
//!         Err(JobError::fatal(format!("{input} is not an address")))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> errand::Result<()> {
//! let store = testing::sqlite_store().await?;
//! let client = Client::new(store.store());
//! // The code under test enqueues...
//! client.enqueue(send_welcome::enqueue("ada@example.com".into())).await?;
//! // ...and the test checks what it enqueued.
//! let job = testing::assert_enqueued::<send_welcome>(&store.store(), |to| to.ends_with("example.com")).await;
//! assert_eq!(job.queue, "mail");
//!
//! let worker = Worker::builder(store.store()).register(send_welcome::job()).build()?;
//! // One job, run inline, without the store:
//! let ran = testing::run_inline(&worker, send_welcome::enqueue("nobody".into())).await?;
//! assert!(matches!(ran, Ran::Failed(ref e) if e.message.contains("not an address")));
//! // Everything due now, through the store:
//! let summary = worker.drain().await?;
//! assert_eq!(summary.completed, 1);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::ops::Deref;

use chrono::{DateTime, Utc};
use errand_core::store::Outcome;
use errand_core::{
    AttemptError, CancellationToken, EnqueueBuilder, Error, Job, JobAdmin, JobId, JobRow, JobState,
    ListParams, Result,
};

use crate::SqliteStore;
use crate::Worker;
use crate::worker::executor::{Attempted, execute};

/// A SQLite store in a temporary directory, deleted when this is dropped.
#[derive(Debug)]
pub struct TestStore {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl TestStore {
    /// The store (a cheap clone), to hand to a `Client` or a `Worker`.
    pub fn store(&self) -> SqliteStore {
        self.store.clone()
    }
}

impl Deref for TestStore {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

/// A fresh SQLite store in a temporary file: the embedded store of tests.
pub async fn sqlite_store() -> Result<TestStore> {
    let dir =
        tempfile::tempdir().map_err(|e| Error::backend("cannot make a temporary directory", e))?;
    let store = SqliteStore::open(dir.path().join("jobs.db")).await?;
    Ok(TestStore { store, _dir: dir })
}

/// The jobs of kind `J` waiting in `store` (scheduled, available or
/// retrying), newest first, with their inputs read back as `J::Input`.
pub async fn enqueued<J: Job>(store: &impl JobAdmin) -> Result<Vec<(JobRow, J::Input)>> {
    let mut waiting = Vec::new();
    for state in [JobState::Scheduled, JobState::Available, JobState::Retrying] {
        let rows = store
            .list(ListParams {
                kind: Some(J::KIND.to_owned()),
                state: Some(state),
                limit: 10_000,
                now: Utc::now(),
                ..ListParams::default()
            })
            .await?;
        for row in rows {
            let input = serde_json::from_value(row.input.clone()).map_err(|e| {
                Error::invalid(
                    "input",
                    &row.input,
                    format!(
                        "of job {} does not read as {}'s input: {e}",
                        row.id,
                        J::KIND
                    ),
                )
            })?;
            waiting.push((row, input));
        }
    }
    waiting.sort_by_key(|(row, _)| std::cmp::Reverse(row.id));
    Ok(waiting)
}

/// Asserts that a job of kind `J` whose input satisfies `matches` waits in
/// `store`, and returns the newest such job. Panics with what is waiting
/// of that kind when none matches.
pub async fn assert_enqueued<J: Job>(
    store: &impl JobAdmin,
    matches: impl Fn(&J::Input) -> bool,
) -> JobRow {
    let waiting = match enqueued::<J>(store).await {
        Ok(waiting) => waiting,
        Err(e) => panic!("cannot read the jobs of kind {}: {e}", J::KIND),
    };
    let inputs: Vec<String> = waiting
        .iter()
        .map(|(row, _)| row.input.to_string())
        .collect();
    match waiting.into_iter().find(|(_, input)| matches(input)) {
        Some((row, _)) => row,
        None => panic!(
            "no waiting job of kind {} matches; waiting inputs of that kind: {inputs:?}",
            J::KIND
        ),
    }
}

/// How a job run by [`run_inline`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ran<O> {
    /// It returned this output.
    Completed(O),
    /// It failed and would be retried at `at` (its backoff from now).
    Retry {
        /// The attempt's error.
        error: AttemptError,
        /// When the next attempt would be due.
        at: DateTime<Utc>,
    },
    /// It failed for good (a fatal error, or its only attempt).
    Failed(AttemptError),
    /// It ended cancelled.
    Cancelled(AttemptError),
    /// It asked to run again at this time without using an attempt.
    Snoozed(DateTime<Utc>),
}

/// Runs one job of kind `J` with `job`'s input through the worker's real
/// executor (its registered handler, its injected state, its timeout and
/// backoff), as attempt 1 of the job's attempts, without touching the store.
/// A job that ends in its own transaction (`PgTx`, `SqliteTx`) cannot run
/// inline: run it with [`Worker::drain`].
pub async fn run_inline<J: Job>(worker: &Worker, job: EnqueueBuilder<J>) -> Result<Ran<J::Output>> {
    let now = Utc::now();
    let new = job.into_new_job(now)?;
    new.validate(errand_core::validate::DEFAULT_MAX_INPUT_BYTES)?;
    let shared = worker.shared();
    if !shared.registry.contains_key(&new.kind) {
        return Err(Error::invalid(
            "kind",
            &new.kind,
            "is not registered on this worker",
        ));
    }
    let row = JobRow {
        id: JobId(0),
        kind: new.kind,
        queue: new.queue,
        priority: new.priority,
        tenant: new.tenant,
        input: new.input,
        output: None,
        errors: Vec::new(),
        state: JobState::Running,
        attempt: 1,
        max_attempts: new.max_attempts,
        run_at: new.run_at.unwrap_or(now),
        created_at: now,
        started_at: Some(now),
        finished_at: None,
        lease_until: None,
        worker: Some(shared.config.name.clone()),
        unique_key: new.unique.map(|u| u.key),
        batch_id: new.batch_id,
        cron: new.cron,
        meta: new.meta.into_iter().collect::<BTreeMap<_, _>>(),
        cancel_requested: false,
    };
    match execute(shared, row, CancellationToken::new(), Some(now)).await {
        Attempted::Finalize(item) => Ok(match item.outcome {
            Outcome::Complete { output } => Ran::Completed(serde_json::from_value(output)?),
            Outcome::Retry { run_at, error } => Ran::Retry { error, at: run_at },
            Outcome::Fail { error } => Ran::Failed(error),
            Outcome::Cancel { error } => Ran::Cancelled(error),
            Outcome::Snooze { run_at } => Ran::Snoozed(run_at),
            Outcome::Release => Ran::Snoozed(now),
        }),
        Attempted::Committed(_) => Err(Error::conflict(format!(
            "job kind {} ends in its own transaction: run it with Worker::drain, not inline",
            J::KIND
        ))),
    }
}
