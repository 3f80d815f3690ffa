//! A job's own database transaction, in which the runtime also writes the
//! job's completion: the job's effects and its end commit together or not at
//! all (exactly-once effects on the SQL stores).
//!
//! Backends provide the extractor (`PgTx`, `SqliteTx`); it attaches an
//! [`AttemptTransaction`] to the attempt's [`JobContext`](crate::JobContext),
//! and the runtime ends it once the job has returned.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{JobId, Result};

/// The completion of an attempt, to be written inside the job's transaction.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The job.
    pub id: JobId,
    /// The attempt that completed; the write is fenced on it.
    pub attempt: u32,
    /// The worker holding the attempt; the write is fenced on it too.
    pub worker: String,
    /// The job's output.
    pub output: serde_json::Value,
    /// The completion time.
    pub now: DateTime<Utc>,
}

/// How [`AttemptTransaction::complete`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionEnd {
    /// The job never opened its transaction: record the result the usual way.
    Unused,
    /// The job's writes and its completion were committed together.
    Committed,
    /// The attempt no longer held the job (its lease expired, or shutdown gave
    /// it back): everything was rolled back and another attempt will run.
    Stale,
}

/// A transaction a job wrote into, ended by the runtime after the job returned.
#[async_trait]
pub trait AttemptTransaction: Send {
    /// Writes `completion`, fenced on the attempt, inside the transaction and
    /// commits. An error means nothing was committed.
    async fn complete(self: Box<Self>, completion: Completion) -> Result<TransactionEnd>;
    /// Rolls the transaction back (the job failed, or its result is not a completion).
    async fn rollback(self: Box<Self>);
}

/// Where an extractor leaves the attempt's transaction for the runtime.
#[derive(Clone, Default)]
pub struct TransactionSlot(Arc<Mutex<Option<Box<dyn AttemptTransaction>>>>);

impl std::fmt::Debug for TransactionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.lock().is_some() {
            "TransactionSlot(attached)"
        } else {
            "TransactionSlot(empty)"
        })
    }
}

impl TransactionSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn AttemptTransaction>>> {
        // Only a put or a take happens under the lock; a panic cannot leave
        // the slot half-written.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Attaches the attempt's transaction. A second one replaces the first,
    /// which is rolled back when dropped.
    pub fn attach(&self, transaction: Box<dyn AttemptTransaction>) {
        *self.lock() = Some(transaction);
    }

    /// Takes the attached transaction, if any.
    pub fn take(&self) -> Option<Box<dyn AttemptTransaction>> {
        self.lock().take()
    }
}
