//! Types and traits shared by every errand crate.
//!
//! Applications use the `errand` facade, which re-exports this crate's
//! application items. Backend authors implement the roles of [`store`]
//! ([`JobStore`], [`JobAdmin`]) and run the conformance suite of
//! `errand-store-tests` against them.

mod backoff;
mod context;
pub mod cron;
mod enqueue;
mod error;
mod job;
mod job_error;
pub mod json;
pub mod maintenance;
mod new_job;
mod row;
mod state;
pub mod store;
mod transaction;
pub mod validate;

pub use backoff::Backoff;
pub use context::{Attempt, FromContext, JobContext, JobContextParts, Meta, State, StateMap};
pub use enqueue::EnqueueBuilder;
pub use error::{BoxError, Error, ErrorClass, Result};
pub use job::{IntoJobResult, Job, JobOptions};
pub use job_error::{JobError, JobErrorAction};
pub use new_job::{NewJob, Unique, UniqueScope};
pub use row::{AttemptError, CronRef, ErrorKind, JobId, JobRow};
pub use state::JobState;
pub use store::{
    Batch, BatchCounts, BatchId, BatchStore, CancelOutcome, Cancellation, Capabilities, ContinueOn,
    Enqueued, JobAdmin, JobStore, ListParams, PruneOutcome, StateCount, Stats, Store,
};
pub use tokio_util::sync::CancellationToken;

/// This crate's README, compiled as a doctest so that its code stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
