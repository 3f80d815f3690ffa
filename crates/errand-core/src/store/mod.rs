//! The storage contract, one trait per role: [`JobStore`] (the hot path of
//! workers), [`JobAdmin`] (reading and managing jobs) and [`CronStore`]
//! (cron entries), [`QueueControl`] (pause and resume), [`BatchStore`]
//! (batches and their continuations), [`WorkerRegistry`] (heartbeats),
//! [`AuditLog`] (operators' changes); [`Store`] is their sum. Every backend
//! implements them; the conformance suite in `errand-store-tests` checks that
//! each one keeps them. Code that only
//! administers jobs takes `impl JobAdmin`.
//!
//! What only store authors need lives here, not at the root of the crate:
//! the params structs, [`FinalizeGroups`], [`WakeupSender`].

mod audit_log;
mod batch_store;
mod claim_plan;
mod cron_store;
mod job_admin;
mod job_store;
mod queue_control;
mod wakeup;
mod worker_registry;

use serde::{Deserialize, Serialize};

pub use audit_log::{
    AuditLog, AuditRecord, MAX_AUDIT_BYTES, MAX_AUDIT_PAGE, NewAuditRecord, check_audit_limit,
};
pub use batch_store::{
    AppendParams, Batch, BatchCancelOutcome, BatchCounts, BatchCreated, BatchId, BatchStore,
    BatchTotals, CONTINUES_META, CancelBatchParams, Continuation, ContinuationStatus, ContinueOn,
    CreateBatchParams, ListBatchesParams, MAX_BATCH_PAGE, NewBatch, PruneBatchesParams,
    batch_cancelled, batch_finished, batch_not_found, validate_batch_jobs,
};
pub use claim_plan::{Ask, Candidate, ClaimPlan, order_as_picked};
pub use cron_store::{
    Advance, CronListParams, CronStore, DueParams, EnableParams, EntryFire, EntryKey, FireDecision,
    FireOutcome, FireParams, LedgerParams, SaveMode, SaveParams,
};
pub use job_admin::{
    CancelOutcome, CancelParams, Cancellation, DeleteParams, GetParams, JobAdmin, ListParams,
    ListWalk, MAX_LIST_PAGE, PruneOutcome, PruneParams, QueueDepth, RescheduleParams, RetryParams,
    StateCount, Stats, StatsParams,
};
pub use job_store::{
    ClaimParams, EnqueueParams, Enqueued, FairTurn, FinalizeGroups, FinalizeItem, FinalizeParams,
    FinalizeStep, JobStore, KindClaim, LeaseStatus, Outcome, QueueClaim, RenewParams, RescueParams,
    RescueUnheldParams, TenantLimits,
};
pub use queue_control::{
    Pause, PauseOutcome, PauseParams, PauseScope, PauseSet, QueueControl, ResumeParams,
};
pub use wakeup::{Wakeup, WakeupSender};
pub use worker_registry::{
    BEAT_INTERVAL, DEAD_AFTER, FORGET_AFTER, MAX_BEAT_BYTES, WorkerBeat, WorkerRegistry,
};

pub use crate::transaction::{AttemptTransaction, Completion, TransactionEnd, TransactionSlot};

/// What a backend can do beyond the common contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Enqueue can join the application's own database transaction.
    pub transactional_enqueue: bool,
    /// Workers in other processes are woken without waiting for the poll.
    pub cross_process_wakeup: bool,
}

/// A whole store: every role. Implemented for every type that implements
/// them all; `Arc<dyn Store>` is what the runtime holds.
pub trait Store:
    JobStore + JobAdmin + CronStore + QueueControl + BatchStore + WorkerRegistry + AuditLog
{
}

impl<
    T: JobStore
        + JobAdmin
        + CronStore
        + QueueControl
        + BatchStore
        + WorkerRegistry
        + AuditLog
        + ?Sized,
> Store for T
{
}
