//! `PgTx`: a job's own transaction, committed together with its completion.

use std::sync::Arc;

use async_trait::async_trait;
use errand_core::store::{AttemptTransaction, Completion, TransactionEnd};
use errand_core::{FromContext, JobContext, JobError, Result, StateMap};
use serde_json::json;
use sqlx::{PgConnection, Postgres, Transaction};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::PgStore;
use crate::error::db_error;

/// What a worker on a `PgStore` offers to `PgTx` (see `Store::provide`): the
/// store whose pool the transactions use, whose fenced completion statement
/// ends them, and which counts their ends toward its next vacuum.
pub(crate) struct PgTxSource {
    pub store: PgStore,
}

type Slot = Arc<Mutex<Option<Transaction<'static, Postgres>>>>;

/// A job's own transaction on the store's database: what the job writes
/// through it and the job's completion commit together, or not at all.
///
/// The transaction begins at the first [`PgTx::conn`]. When the job returns
/// `Ok`, the worker writes the completion inside it (fenced on the attempt:
/// if the job's lease was lost meanwhile, everything rolls back) and commits;
/// when it returns an error, panics or times out, everything rolls back and
/// the job is retried as usual. The job must not commit it itself.
///
/// ```no_run
/// use errand_postgres::PgTx;
///
/// // Declared with `#[errand::job]` in an application.
/// async fn record_payment(input: i64, tx: PgTx) -> Result<(), errand_core::JobError> {
///     let mut conn = tx.conn().await?;
///     sqlx::query("INSERT INTO payments (amount) VALUES ($1)")
///         .bind(input)
///         .execute(&mut *conn)
///         .await?;
///     Ok(())
/// }
/// ```
pub struct PgTx {
    source: Arc<PgTxSource>,
    slot: Slot,
}

impl std::fmt::Debug for PgTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx").finish_non_exhaustive()
    }
}

/// The connection of a job's transaction, locked while it is held.
pub type PgTxConn = OwnedMappedMutexGuard<Option<Transaction<'static, Postgres>>, PgConnection>;

impl PgTx {
    /// The transaction's connection, beginning the transaction on first use.
    /// Use it as `&mut *conn` with sqlx; drop it before the job returns.
    pub async fn conn(&self) -> Result<PgTxConn> {
        let mut guard: OwnedMutexGuard<_> = Arc::clone(&self.slot).lock_owned().await;
        if guard.is_none() {
            *guard = Some(self.source.store.pool().begin().await.map_err(db_error)?);
        }
        OwnedMutexGuard::try_map(guard, |tx| tx.as_deref_mut())
            .map_err(|_| errand_core::Error::conflict("the job's transaction has already ended"))
    }
}

impl FromContext for PgTx {
    fn from_context(ctx: &JobContext) -> std::result::Result<Self, JobError> {
        let source = ctx
            .state::<PgTxSource>()
            .ok_or_else(|| JobError::fatal("PgTx needs a worker whose store is a PgStore"))?;
        let slot: Slot = Arc::default();
        ctx.transaction_slot().attach(Box::new(PgAttempt {
            source: Arc::clone(&source),
            slot: Arc::clone(&slot),
        }));
        Ok(PgTx { source, slot })
    }

    fn check(states: &StateMap) -> std::result::Result<(), String> {
        if states.contains::<PgTxSource>() {
            Ok(())
        } else {
            Err("PgTx needs a worker whose store is a PgStore".to_owned())
        }
    }
}

/// The runtime's side of a `PgTx`.
struct PgAttempt {
    source: Arc<PgTxSource>,
    slot: Slot,
}

#[async_trait]
impl AttemptTransaction for PgAttempt {
    async fn complete(self: Box<Self>, completion: Completion) -> Result<TransactionEnd> {
        let Some(mut tx) = self.slot.lock().await.take() else {
            return Ok(TransactionEnd::Unused);
        };
        let item = json!([{
            "id": completion.id.0,
            "attempt": completion.attempt,
            "output": completion.output,
        }]);
        let applied: Option<i64> = sqlx::query_scalar(self.source.store.complete_statement())
            .bind(item)
            .bind(&completion.worker)
            .bind(completion.now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if applied.is_none() {
            tx.rollback().await.map_err(db_error)?;
            return Ok(TransactionEnd::Stale);
        }
        tx.commit().await.map_err(db_error)?;
        self.source.store.ended(1);
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
