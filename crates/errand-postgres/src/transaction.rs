//! `PgTx`: a job's own transaction, committed together with its completion.

use async_trait::async_trait;
use errand_core::store::Completion;
use errand_core::{Error, FromContext, JobContext, JobError, Result, StateMap};
use errand_sql::{JobTx, TxSource};
use serde_json::json;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::PgStore;
use crate::error::db_error;

/// What a worker on a `PgStore` offers to `PgTx` (see `JobStore::provide`):
/// the store whose pool the transactions use, whose fenced completion
/// statement ends them, and which counts their ends toward its next vacuum.
pub(crate) struct PgTxSource {
    pub(crate) store: PgStore,
}

#[async_trait]
impl TxSource for PgTxSource {
    type Db = Postgres;
    const MISSING: &'static str = "PgTx needs a worker whose store is a PgStore";

    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.store.pool().begin().await.map_err(db_error)
    }

    async fn complete_in(&self, conn: &mut PgConnection, completion: &Completion) -> Result<bool> {
        let item = json!([{
            "id": completion.id.0,
            "attempt": completion.attempt,
            "output": completion.output,
        }]);
        let applied: Option<i64> = sqlx::query_scalar(self.store.complete_statement())
            .bind(item)
            .bind(&completion.worker)
            .bind(completion.now)
            .fetch_optional(conn)
            .await
            .map_err(db_error)?;
        Ok(applied.is_some())
    }

    fn error(e: sqlx::Error) -> Error {
        db_error(e)
    }

    fn committed(&self) {
        self.store.ended(1);
    }
}

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
#[derive(Debug)]
pub struct PgTx(JobTx<PgTxSource>);

/// The connection of a job's transaction, locked while it is held.
pub type PgTxConn = errand_sql::TxConn<Postgres>;

impl PgTx {
    /// The transaction's connection, beginning the transaction on first use.
    /// Use it as `&mut *conn` with sqlx; drop it before the job returns.
    pub async fn conn(&self) -> Result<PgTxConn> {
        self.0.conn().await
    }
}

impl FromContext for PgTx {
    fn from_context(ctx: &JobContext) -> std::result::Result<Self, JobError> {
        JobTx::from_context(ctx).map(PgTx)
    }

    fn check(states: &StateMap) -> std::result::Result<(), String> {
        JobTx::<PgTxSource>::check(states)
    }
}
