//! Types and traits shared by every errand crate.
//!
//! Applications use the `errand` facade, which re-exports this crate. Backend
//! authors implement [`Store`] and run the conformance suite of
//! `errand-store-tests` against it.

mod backoff;
mod context;
mod enqueue;
mod error;
mod job;
mod job_error;
pub mod json;
mod new_job;
mod row;
mod state;
mod store;
mod transaction;
pub mod validate;

pub use backoff::Backoff;
pub use context::{Attempt, FromContext, JobContext, JobContextParts, Meta, State, StateMap};
pub use enqueue::EnqueueBuilder;
pub use error::{BoxError, Error, ErrorClass, Result};
pub use job::{IntoJobResult, Job, JobOptions};
pub use job_error::{JobError, JobErrorAction};
pub use new_job::{NewJob, Unique, UniqueScope, runs_pay_off, shape_runs};
pub use row::{AttemptError, CronRef, ErrorKind, JobId, JobRow};
pub use state::JobState;
pub use store::{
    CancelOutcome, CancelParams, Cancellation, Capabilities, ClaimParams, DeleteParams,
    EnqueueParams, Enqueued, FinalizeGroups, FinalizeItem, FinalizeParams, GetParams, KindClaim,
    LeaseStatus, ListParams, Outcome, QueueClaim, RenewParams, RescueParams, RescueUnheldParams,
    RetryParams, StateCount, Stats, StatsParams, Store, Wakeup, WakeupSender,
};
pub use tokio_util::sync::CancellationToken;
pub use transaction::{AttemptTransaction, Completion, TransactionEnd, TransactionSlot};

/// This crate's README, compiled as a doctest so that its code stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
