//! `SqliteTx`: a job's own transaction, committed together with its completion.

use std::sync::Arc;

use async_trait::async_trait;
use errand_core::store::{AttemptTransaction, Completion, TransactionEnd};
use errand_core::{FromContext, JobContext, JobError, Result, StateMap};
use serde_json::json;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::error::db_error;
use crate::queries;
use crate::rows::micros;

/// What a worker on a `SqliteStore` offers to `SqliteTx` (see `Store::provide`).
pub(crate) struct SqliteTxSource {
    pub pool: SqlitePool,
}

type Slot = Arc<Mutex<Option<Transaction<'static, Sqlite>>>>;

/// A job's own transaction on the store's database file: what the job writes
/// through it and the job's completion commit together, or not at all.
///
/// The transaction begins (`BEGIN IMMEDIATE`) at the first
/// [`SqliteTx::conn`] and holds SQLite's write lock until the job ends, so
/// other writers of the file wait meanwhile: keep such jobs short. When the
/// job returns `Ok`, the worker writes the completion inside it (fenced on the
/// attempt: if the job's lease was lost meanwhile, everything rolls back) and
/// commits; when it returns an error, panics or times out, everything rolls
/// back and the job is retried as usual. The job must not commit it itself.
///
/// ```no_run
/// use errand_sqlite::SqliteTx;
///
/// // Declared with `#[errand::job]` in an application.
/// async fn record_payment(input: i64, tx: SqliteTx) -> Result<(), errand_core::JobError> {
///     let mut conn = tx.conn().await?;
///     sqlx::query("INSERT INTO payments (amount) VALUES (?1)")
///         .bind(input)
///         .execute(&mut *conn)
///         .await?;
///     Ok(())
/// }
/// ```
pub struct SqliteTx {
    source: Arc<SqliteTxSource>,
    slot: Slot,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx").finish_non_exhaustive()
    }
}

/// The connection of a job's transaction, locked while it is held.
pub type SqliteTxConn =
    OwnedMappedMutexGuard<Option<Transaction<'static, Sqlite>>, SqliteConnection>;

impl SqliteTx {
    /// The transaction's connection, beginning the transaction on first use.
    /// Use it as `&mut *conn` with sqlx; drop it before the job returns.
    pub async fn conn(&self) -> Result<SqliteTxConn> {
        let mut guard: OwnedMutexGuard<_> = Arc::clone(&self.slot).lock_owned().await;
        if guard.is_none() {
            // IMMEDIATE: the write lock is taken (or waited for) now, so a
            // later write cannot fail on a snapshot another process outdated.
            let tx = self
                .source
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(db_error)?;
            *guard = Some(tx);
        }
        OwnedMutexGuard::try_map(guard, |tx| tx.as_deref_mut())
            .map_err(|_| errand_core::Error::conflict("the job's transaction has already ended"))
    }
}

impl FromContext for SqliteTx {
    fn from_context(ctx: &JobContext) -> std::result::Result<Self, JobError> {
        let source = ctx.state::<SqliteTxSource>().ok_or_else(|| {
            JobError::fatal("SqliteTx needs a worker whose store is a SqliteStore")
        })?;
        let slot: Slot = Arc::default();
        ctx.transaction_slot().attach(Box::new(SqliteAttempt {
            slot: Arc::clone(&slot),
        }));
        Ok(SqliteTx { source, slot })
    }

    fn check(states: &StateMap) -> std::result::Result<(), String> {
        if states.contains::<SqliteTxSource>() {
            Ok(())
        } else {
            Err("SqliteTx needs a worker whose store is a SqliteStore".to_owned())
        }
    }
}

/// The runtime's side of a `SqliteTx`.
struct SqliteAttempt {
    slot: Slot,
}

#[async_trait]
impl AttemptTransaction for SqliteAttempt {
    async fn complete(self: Box<Self>, completion: Completion) -> Result<TransactionEnd> {
        let Some(mut tx) = self.slot.lock().await.take() else {
            return Ok(TransactionEnd::Unused);
        };
        let item = json!([{
            "id": completion.id.0,
            "attempt": completion.attempt,
            "output": completion.output,
        }]);
        let applied: Option<i64> = sqlx::query_scalar(queries::FINALIZE_COMPLETE)
            .bind(item.to_string())
            .bind(&completion.worker)
            .bind(micros(completion.now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if applied.is_none() {
            tx.rollback().await.map_err(db_error)?;
            return Ok(TransactionEnd::Stale);
        }
        tx.commit().await.map_err(db_error)?;
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
