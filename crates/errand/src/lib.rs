//! Persistent background jobs for Rust.
//!
//! Define a job as a plain `async fn`, enqueue it with the generated typed
//! helper, and run workers inside your application or as their own processes.
//!
//! ```no_run
//! use errand::{Client, State, Worker};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Email { to: String, subject: String }
//!
//! struct Mailer;
//! impl Mailer {
//!     async fn send(&self, _to: &str, _subject: &str) -> std::io::Result<()> { Ok(()) }
//! }
//!
//! #[errand::job(queue = "mail", max_attempts = 5)]
//! async fn send_email(input: Email, mailer: State<Mailer>) -> Result<(), std::io::Error> {
//!     mailer.send(&input.to, &input.subject).await
//! }
//!
//! # async fn run() -> errand::Result<()> {
//! let store = errand::SqliteStore::connect("sqlite://jobs.db").await?;
//! let client = Client::new(store.clone());
//! let job = client
//!     .enqueue(send_email::enqueue(Email { to: "ada@example.com".into(), subject: "hi".into() }))
//!     .await?;
//!
//! let worker = Worker::builder(store)
//!     .register(send_email::job())
//!     .queues(["mail", "default"])
//!     .state(Mailer)
//!     .build()?;
//! let running = worker.start();
//! job.wait().await?;
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod batch;
mod client;
mod connect;
pub mod cron;
mod dead_letters;
mod deferred;
pub mod loop_job;
pub mod maintenance;
pub mod observe;
mod registry;
/// Helpers for an application's own tests (feature `testing`, with the SQLite store).
#[cfg(all(feature = "testing", feature = "sqlite"))]
pub mod testing;
mod worker;

pub use batch::{BatchBuilder, BatchHandle, Continued, EXTEND_CHUNK, InBatch};
pub use client::Client;
pub use connect::{ConnectOptions, connect, connect_from_env, connect_with, supported};
pub use dead_letters::{RetryFilter, RetryMatching};
pub use deferred::{Deferred, Finished};
pub use errand_core::{
    Attempt, AttemptError, Backoff, BoxError, CancelOutcome, Cancellation, CancellationToken,
    Capabilities, CronRef, EnqueueBuilder, Enqueued, Error, ErrorClass, ErrorKind, FromContext,
    IntoJobResult, Job, JobAdmin, JobContext, JobError, JobErrorAction, JobId, JobOptions, JobRow,
    JobState, JobStore, ListParams, Meta, NewJob, PruneOutcome, Result, State, StateCount,
    StateMap, Stats, Store, Unique, UniqueScope, json, validate,
};

/// What store authors need: the role traits' parameters and results, wake-up
/// signals, the attempt transaction (see `errand_core::store`).
pub mod store {
    pub use errand_core::JobContextParts;
    pub use errand_core::store::*;
}
pub use errand_core::store::{
    Batch, BatchCancelOutcome, BatchCounts, BatchId, BatchStore, BatchTotals, ContinuationStatus,
    ContinueOn, Pause, PauseOutcome, PauseScope, QueueControl, QueueDepth,
};
pub use errand_macros::job;
pub use worker::{DrainSummary, Worker, WorkerBuilder, WorkerHandle};

/// The SQLite store (feature `sqlite`, on by default).
#[cfg(feature = "sqlite")]
pub mod sqlite {
    pub use errand_sqlite::*;
}
#[cfg(feature = "sqlite")]
pub use errand_sqlite::{SqliteEnqueueExt, SqliteStore, SqliteTx};

/// The PostgreSQL store (feature `postgres`).
#[cfg(feature = "postgres")]
pub mod postgres {
    pub use errand_postgres::*;
}
#[cfg(feature = "postgres")]
pub use errand_postgres::{PgEnqueueExt, PgStore, PgTx};

/// The Redis / Valkey store (feature `redis`).
#[cfg(feature = "redis")]
pub mod redis {
    pub use errand_redis::*;
}
#[cfg(feature = "redis")]
pub use errand_redis::RedisStore;

/// The workspace README's example, compiled as a doctest so that it stays true
/// (and run as `examples/quickstart.rs`).
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// This crate's README, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct CrateReadmeDoctests;

/// Every snippet of the guide, compiled as a doctest; it uses every store.
#[doc = include_str!("../../../docs/guide.md")]
#[cfg(all(
    doctest,
    feature = "sqlite",
    feature = "postgres",
    feature = "redis",
    feature = "testing"
))]
pub struct GuideDoctests;

/// The delivery guarantees, compiled as a doctest (for any code they show).
#[doc = include_str!("../../../docs/guarantees.md")]
#[cfg(doctest)]
pub struct GuaranteesDoctests;

/// The design notes, compiled as a doctest (for any code they show).
#[doc = include_str!("../../../docs/design.md")]
#[cfg(doctest)]
pub struct DesignDoctests;
