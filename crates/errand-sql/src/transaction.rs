//! `JobTx`: a job's own transaction, committed together with its completion.
//! `PgTx` and `SqliteTx` are this with their backend's [`TxSource`].

use std::sync::Arc;

use async_trait::async_trait;
use errand_core::store::{AttemptTransaction, Completion, TransactionEnd};
use errand_core::{Error, JobContext, JobError, Result, StateMap};
use sqlx::{Database, Transaction};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// What a SQL store offers to its jobs' transactions: a worker on the store
/// puts one in the job state (see `JobStore::provide`).
#[async_trait]
pub trait TxSource: Send + Sync + 'static {
    /// The database.
    type Db: Database;

    /// The error a job's transaction gives when the worker's store lacks this
    /// source, e.g. "PgTx needs a worker whose store is a PgStore".
    const MISSING: &'static str;

    /// Begins a job's transaction.
    async fn begin(&self) -> Result<Transaction<'static, Self::Db>>;

    /// Writes the completion inside the transaction, fenced on the attempt:
    /// false when the attempt no longer holds the job (nothing written).
    async fn complete_in(
        &self,
        conn: &mut <Self::Db as Database>::Connection,
        completion: &Completion,
    ) -> Result<bool>;

    /// Translates an error of this database.
    fn error(e: sqlx::Error) -> Error;

    /// Told after a completion committed (PostgreSQL counts it toward its
    /// next vacuum).
    fn committed(&self) {}
}

type Slot<Db> = Arc<Mutex<Option<Transaction<'static, Db>>>>;

/// The connection of a job's transaction, locked while it is held.
pub type TxConn<Db> =
    OwnedMappedMutexGuard<Option<Transaction<'static, Db>>, <Db as Database>::Connection>;

/// A job's own transaction: what the job writes through it and the job's
/// completion commit together, or not at all.
///
/// The transaction begins at the first [`JobTx::conn`]. When the job returns
/// `Ok`, the worker writes the completion inside it (fenced on the attempt)
/// and commits; otherwise everything rolls back.
pub struct JobTx<S: TxSource> {
    source: Arc<S>,
    slot: Slot<S::Db>,
}

impl<S: TxSource> std::fmt::Debug for JobTx<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobTx").finish_non_exhaustive()
    }
}

impl<S: TxSource> JobTx<S> {
    /// The transaction's connection, beginning the transaction on first use.
    pub async fn conn(&self) -> Result<TxConn<S::Db>> {
        let mut guard: OwnedMutexGuard<_> = Arc::clone(&self.slot).lock_owned().await;
        if guard.is_none() {
            *guard = Some(self.source.begin().await?);
        }
        OwnedMutexGuard::try_map(guard, |tx| tx.as_deref_mut())
            .map_err(|_| Error::conflict("the job's transaction has already ended"))
    }

    /// The transaction of the job running in `ctx`, attached to its attempt
    /// so that the worker commits or rolls it back with the job's end.
    pub fn from_context(ctx: &JobContext) -> std::result::Result<Self, JobError> {
        let source = ctx
            .state::<S>()
            .ok_or_else(|| JobError::fatal(S::MISSING))?;
        let slot: Slot<S::Db> = Arc::default();
        ctx.transaction_slot().attach(Box::new(Attempt {
            source: Arc::clone(&source),
            slot: Arc::clone(&slot),
        }));
        Ok(JobTx { source, slot })
    }

    /// Whether a worker with these states can give jobs this transaction.
    pub fn check(states: &StateMap) -> std::result::Result<(), String> {
        if states.contains::<S>() {
            Ok(())
        } else {
            Err(S::MISSING.to_owned())
        }
    }
}

/// The runtime's side of a `JobTx`.
struct Attempt<S: TxSource> {
    source: Arc<S>,
    slot: Slot<S::Db>,
}

#[async_trait]
impl<S: TxSource> AttemptTransaction for Attempt<S> {
    async fn complete(self: Box<Self>, completion: Completion) -> Result<TransactionEnd> {
        let Some(mut tx) = self.slot.lock().await.take() else {
            return Ok(TransactionEnd::Unused);
        };
        if !self.source.complete_in(&mut tx, &completion).await? {
            tx.rollback().await.map_err(S::error)?;
            return Ok(TransactionEnd::Stale);
        }
        tx.commit().await.map_err(S::error)?;
        self.source.committed();
        Ok(TransactionEnd::Committed)
    }

    async fn rollback(self: Box<Self>) {
        if let Some(tx) = self.slot.lock().await.take()
            && let Err(e) = tx.rollback().await
        {
            // The connection is closed instead of returned; nothing committed.
            tracing::warn!(error = %e, "errand could not roll back a job's transaction");
        }
    }
}
